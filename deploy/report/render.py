"""Render an `edgevsr report` dict: JSON, CSV, PNG plots, a self-contained HTML page and a Markdown summary.

The HTML embeds its plots as base64 PNG and has no external reference, so it
opens offline and can be mailed as one file. Quality-vs-FPS plots are drawn per
device and input size with the Pareto front (no other cell is both faster and
better) and the 25 / 30 / 60 FPS real-time lines.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

from edgevsr.io.atomic import atomic_path

from .report import QUALITY_METRICS, eval_sets, iter_measured, threads_text

REALTIME_FPS = (25, 30, 60)
LOWER_IS_BETTER = {"lpips": True, "tof": True, "tlp100": True, "psnr_y": False, "ssim_y": False}
# Differences below these are measurement noise / backend rounding, not a quality difference (Pareto ties).
TIES = {"lpips": 1e-4, "tof": 1e-3, "tlp100": 1e-3, "psnr_y": 0.01, "ssim_y": 1e-4}
METRIC_LABELS = {"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y", "lpips": "LPIPS (AlexNet)", "tof": "tOF",
                 "tlp100": "tLP100"}
CSV_COLUMNS = (
    ["machine", "device", "model", "precision", "backend", "size", "output_size", "status", "reason", "weights",
     "trained", "onnx_precision", "int8_groups", "fps", "latency_median_ms", "latency_p90_ms", "latency_p99_ms",
     "peak_mib", "gflop_per_frame", "achieved_gflops", "roofline_pct", "power_w", "fps_per_w"]
    + [f"{m}" for m in QUALITY_METRICS] + [f"{m}_vs_fp32" for m in QUALITY_METRICS] + ["quality_note"])


# ------------------------------------------------------------------------------------------------ tables
def flat_row(cell: dict) -> dict:
    """One CSV row: every scalar a spreadsheet needs, blanks where nothing was measured."""
    sp = cell.get("speed") or {}
    q = cell.get("quality") or {}
    lat = sp.get("latency_ms") or {}
    row = {k: cell.get(k) for k in ("machine", "device", "model", "precision", "backend", "size", "output_size",
                                    "status", "reason", "weights", "trained", "onnx_precision", "int8_groups")}
    row.update({"fps": sp.get("fps"), "latency_median_ms": lat.get("median"), "latency_p90_ms": lat.get("p90"),
                "latency_p99_ms": lat.get("p99"), "peak_mib": sp.get("peak_mib"),
                "gflop_per_frame": sp.get("gflop_per_frame"), "achieved_gflops": sp.get("achieved_gflops"),
                "roofline_pct": sp.get("roofline_pct"), "power_w": sp.get("power_w"), "fps_per_w": sp.get("fps_per_w")})
    gt, ref = q.get("vs_gt") or {}, q.get("vs_fp32") or {}
    for m in QUALITY_METRICS:
        row[m] = gt.get(m)
        row[f"{m}_vs_fp32"] = ref.get(m)
    row["quality_note"] = quality_note(cell)
    return row


def quality_note(cell: dict) -> str | None:
    q = cell.get("quality")
    if q is None:
        return cell.get("quality_note")
    if q.get("is_fp32_reference"):
        return "FP32 reference"
    if q.get("identical_to_fp32"):
        return "identical to FP32"
    return None


def write_json(report: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=str))
    return path


def write_csv(report: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            w.writeheader()
            for c in report["cells"]:
                w.writerow({k: ("" if v is None else v) for k, v in flat_row(c).items()})
    return path


# ------------------------------------------------------------------------------------------------ pareto
def pareto_front(points: Sequence[tuple[float, float]], lower_is_better: bool = True, tol: float = 0.0) -> list[int]:
    """Indices of the points no other point beats on both axes (higher x = faster, y by the metric's sense).

    Quality differences within ``tol`` count as equal (e.g. the same model on two backends scoring 1e-6 apart
    in LPIPS: the faster one dominates). Points equal on both axes both stay. Returned in increasing x.
    """
    sign = 1.0 if lower_is_better else -1.0
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any((x2 >= x and sign * y2 <= sign * y + tol) and (x2 > x or sign * y2 < sign * y - tol)
                        for j, (x2, y2) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], sign * points[i][1]))


# ------------------------------------------------------------------------------------------------ plots
def _slug(text: str) -> str:
    s = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in s:
        s = s.replace("--", "-")
    return s.strip("-")[:60]


def cell_eval(c: dict) -> str | None:
    """Id of the evaluation set a cell's quality was measured on."""
    return c.get("eval") or (c.get("quality") or {}).get("eval")


def with_panels(report: dict) -> dict:
    """The report with ``device`` made unique per evaluation set: a merge of two runs of one machine on different
    evaluation sets must not put their qualities in one table row or one plot."""
    evals: dict[str, set] = {}
    for c in report["cells"]:
        if cell_eval(c):
            evals.setdefault(c["device"], set()).add(cell_eval(c))
    multi = {d for d, e in evals.items() if len(e) > 1}
    if not multi:
        return report
    names = {k: eval_name(v) for k, v in eval_sets(report).items()} if "eval" in report else {}
    cells = [{**c, "device": f"{c['device']} - {names.get(cell_eval(c)) or 'eval set ' + (cell_eval(c) or '?')[:6]}"}
             if c["device"] in multi else c for c in report["cells"]]
    return {**report, "cells": cells}


def eval_name(description: str) -> str:
    """Short name of an evaluation set from its description: ``built-in clip``, ``vimeo90k-sample/sequences``."""
    head = description.split(":", 1)[0].strip()
    parts = [p for p in head.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts[-2:])[:40] if parts else head[:40]


def _devices(report: dict) -> list[str]:
    seen = []
    for c in iter_measured(report):
        if c["device"] not in seen:
            seen.append(c["device"])
    return seen


def _sizes(cells: list[dict]) -> list[str]:
    out = []
    for c in cells:
        if c["size"] not in out:
            out.append(c["size"])
    return sorted(out, key=lambda s: int(s.split("x")[0]) * int(s.split("x")[1]))


def cell_label(c: dict) -> str:
    backend = c["backend"].replace("onnxruntime", "ort")
    precision = c["precision"]
    if c.get("onnx_precision") and c["onnx_precision"] != precision:  # e.g. int8 asked, quantizer kept some float
        precision += f"({c['onnx_precision']})"
    return f"{c['model']} {precision} {backend}"


def _style(models: list[str]):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    colors = {m: cmap(i % 10) for i, m in enumerate(models)}
    markers = {"fp32": "o", "fp16": "s", "int8": "^", "mixed": "D"}
    return colors, markers


def _realtime_lines(ax) -> None:
    for f in REALTIME_FPS:
        ax.axvline(f, color="0.35", lw=0.9, ls=":")
        ax.text(f, 1.0, f" {f} fps", transform=ax.get_xaxis_transform(), fontsize=7, color="0.3",
                va="top", ha="left", rotation=90)


def _fps_axis(ax, xs: list[float]) -> None:
    lo = min([*xs, 20.0]) / 1.6
    hi = max([*xs, 70.0]) * 1.6
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("frames per second (log scale; higher is better)")


def plot_quality_vs_fps(report: dict, device: str, path: Path) -> Path:
    """LPIPS and tOF vs FPS, one column per input size, Pareto front marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in iter_measured(report) if c["device"] == device]
    sizes = _sizes(cells)
    models = sorted({c["model"] for c in cells})
    colors, markers = _style(models)
    metrics = ("lpips", "tof")
    fig, axes = plt.subplots(len(metrics), len(sizes), figsize=(5.2 * len(sizes) + 1.5, 4.0 * len(metrics)),
                             squeeze=False)
    for col, size in enumerate(sizes):
        here = [c for c in cells if c["size"] == size and (c.get("quality") or {}).get("vs_gt")]
        speed_only = sum(1 for c in cells if c["size"] == size and not (c.get("quality") or {}).get("vs_gt"))
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            pts = [(c["speed"]["fps"], c["quality"]["vs_gt"].get(metric)) for c in here]
            keep = [i for i, p in enumerate(pts) if p[1] is not None]
            pts = [pts[i] for i in keep]
            sel = [here[i] for i in keep]
            _realtime_lines(ax)
            if pts:
                front = pareto_front(pts, LOWER_IS_BETTER[metric], TIES[metric])
                for c, (x, y) in zip(sel, pts):
                    ax.scatter(x, y, s=46, color=colors[c["model"]], marker=markers.get(c["precision"], "o"),
                               edgecolor="black" if c["backend"].startswith("onnxruntime") else "none",
                               linewidth=0.8, zorder=3)
                for k, i in enumerate(front):  # name the front; the rest is read off colour and marker
                    ax.annotate(cell_label(sel[i]), pts[i], fontsize=6.5, xytext=(5, 5 if k % 2 == 0 else -10),
                                textcoords="offset points", color="crimson")
                fx = [pts[i][0] for i in front]
                fy = [pts[i][1] for i in front]
                ax.plot(fx, fy, color="crimson", lw=1.3, ls="-", zorder=2)
                ax.scatter(fx, fy, s=150, facecolor="none", edgecolor="crimson", lw=1.4, zorder=4)
                _fps_axis(ax, [p[0] for p in pts])
                ys = [p[1] for p in pts]
                pad = max((max(ys) - min(ys)) * 0.15, abs(max(ys)) * 0.05, 1e-3)
                ax.set_ylim(min(ys) - pad, max(ys) + pad)
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            else:
                _fps_axis(ax, [])
                ax.text(0.5, 0.5, "no cell with measured quality here", transform=ax.transAxes, ha="center",
                        fontsize=9, color="0.4")
            ax.set_ylabel(f"{METRIC_LABELS[metric]} vs ground truth (lower is better)")
            w, h = (int(v) for v in size.split("x"))
            title = f"input {size} -> output {4 * w}x{4 * h}"
            if speed_only:
                title += f"\n({speed_only} speed-only cells not drawn: no trained weights / no quality)"
            ax.set_title(title, fontsize=9)
            ax.grid(True, which="both", alpha=0.25)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=colors[m], label=m) for m in models]
    handles += [Line2D([], [], ls="", marker=mk, color="0.3", label=p) for p, mk in markers.items()]
    handles += [Line2D([], [], ls="", marker="o", color="white", markeredgecolor="black", label="ONNX Runtime"),
                Line2D([], [], ls="", marker="o", markerfacecolor="none", markeredgecolor="crimson", markersize=10,
                       label="Pareto front")]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.suptitle(f"Quality vs speed - {device} (red: Pareto front, named)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - 1.4 / (5.2 * len(sizes) + 1.5), 0.96))
    return _save(fig, path)


def plot_fps(report: dict, device: str, path: Path) -> Path:
    """FPS of every measured cell, one panel per input size, real-time lines; speed-only cells hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in iter_measured(report) if c["device"] == device]
    sizes = _sizes(cells)
    models = sorted({c["model"] for c in cells})
    colors, _ = _style(models)
    n = max(len([c for c in cells if c["size"] == s]) for s in sizes)
    fig, axes = plt.subplots(1, len(sizes), figsize=(max(8.0, 5.5 * len(sizes)), 0.32 * n + 2.0), squeeze=False)
    for col, size in enumerate(sizes):
        ax = axes[0][col]
        here = sorted([c for c in cells if c["size"] == size], key=lambda c: c["speed"]["fps"])
        ys = range(len(here))
        for y, c in zip(ys, here):
            untrained = not c.get("trained", True)
            ax.barh(y, c["speed"]["fps"], color=colors[c["model"]], hatch="///" if untrained else None,
                    edgecolor="white" if untrained else None, alpha=0.9)
            ax.text(c["speed"]["fps"] * 1.05, y, f"{c['speed']['fps']:.2f}", va="center", fontsize=7)
        ax.set_yticks(list(ys))
        ax.set_yticklabels([cell_label(c) + (" (untrained)" if not c.get("trained", True) else "") for c in here],
                           fontsize=7)
        _fps_axis(ax, [c["speed"]["fps"] for c in here])
        _realtime_lines(ax)
        w, h = (int(v) for v in size.split("x"))
        ax.set_title(f"input {size} -> output {4 * w}x{4 * h}", fontsize=9)
        ax.grid(True, axis="x", which="both", alpha=0.25)
    fig.suptitle(f"Throughput - {device}\n(hatched: untrained weights, timed for speed only)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def draw_plots(report: dict, out_dir: Path) -> list[tuple[str, Path]]:
    """(caption, path) of every plot written to ``out_dir``."""
    report = with_panels(report)
    plots = []
    for device in _devices(report):
        slug = _slug(device)
        plots.append((f"Quality vs FPS, {device}", plot_quality_vs_fps(report, device, out_dir / f"pareto-{slug}.png")))
        plots.append((f"FPS of every measured cell, {device}", plot_fps(report, device, out_dir / f"fps-{slug}.png")))
    return plots


# ------------------------------------------------------------------------------------------------ text
def _f(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


_DIGITS = {"psnr_y": 2, "ssim_y": 4, "lpips": 4, "tof": 3, "tlp100": 3}


def summary_rows(report: dict) -> list[dict]:
    """One row per (device, model, precision, backend): FPS at each size and the quality figures."""
    report = with_panels(report)
    sizes = _sizes(report["cells"])
    rows: dict[tuple, dict] = {}
    for c in report["cells"]:
        k = (c["device"], c["model"], c["precision"], c["backend"])
        r = rows.setdefault(k, {"device": c["device"], "model": c["model"], "precision": c["precision"],
                                "backend": c["backend"], "fps": {}, "quality": None, "note": None,
                                "status": set(), "int8_groups": c.get("int8_groups"),
                                "onnx_precision": c.get("onnx_precision")})
        r["status"].add(c["status"])
        if c["status"] == "measured":
            r["fps"][c["size"]] = c["speed"]["fps"]
        else:
            r["note"] = c.get("reason")
        if c.get("quality"):
            r["quality"] = c["quality"]
        if r["note"] is None or c["status"] == "measured":
            r["note"] = r["note"] if c["status"] != "measured" else (quality_note(c) or r["note"])
    out = list(rows.values())
    for r in out:
        r["sizes"] = sizes
    return out


def tradeoff_rows(report: dict) -> list[dict]:
    """Each non-FP32 precision against FP32 of the same model, backend and device: speed-up per size and the
    quality it costs (vs GT deltas; PSNR-Y / LPIPS against the FP32 output)."""
    rows = summary_rows(report)
    fp32 = {(r["device"], r["model"], r["backend"]): r for r in rows if r["precision"] == "fp32"}
    out = []
    for r in rows:
        base = fp32.get((r["device"], r["model"], r["backend"]))
        if r["precision"] == "fp32" or base is None or not r["fps"]:
            continue
        speedup = {s: r["fps"][s] / base["fps"][s] for s in r["fps"] if s in base["fps"]}
        q, bq = (r["quality"] or {}), (base["quality"] or {})
        gt, bgt = q.get("vs_gt") or {}, bq.get("vs_gt") or {}
        delta = {m: (gt[m] - bgt[m]) if gt.get(m) is not None and bgt.get(m) is not None else None
                 for m in QUALITY_METRICS}
        out.append({**r, "speedup": speedup, "delta": delta, "vs_fp32": q.get("vs_fp32") or {}})
    return out


def _vs_fp32_psnr(q: dict) -> str:
    if q.get("is_fp32_reference"):
        return "reference"
    if q.get("identical_to_fp32"):
        return "identical"
    return _f((q.get("vs_fp32") or {}).get("psnr_y"))


def _delta(v, digits: int) -> str:
    return "-" if v is None else f"{v:+.{digits}f}"


def _precision_text(r: dict) -> str:
    p = r["precision"]
    op = r.get("onnx_precision")
    if op and op != p:
        p += f" (file: {op})"
    if r.get("int8_groups") and p.startswith(("int8", "mixed")):
        p += f", {r['int8_groups']} groups INT8"
    return p


def render_markdown(report: dict) -> str:
    report = with_panels(report)
    rows = summary_rows(report)
    sizes = rows[0]["sizes"] if rows else []
    lines = ["# edgevsr report", ""]
    lines.append(f"Evaluation set: {report['eval']['description']}. Quality vs ground truth; "
                 f"'vs FP32' = PSNR-Y against the {report['eval']['reference']}.")
    lines.append("")
    for device in dict.fromkeys(r["device"] for r in rows):
        lines.append(f"## {device}")
        lines.append("")
        mine = [r for r in rows if r["device"] == device]
        notes = {r["note"] for r in mine}
        if all("measured" not in r["status"] for r in mine) and len(notes) == 1:
            lines += [f"{len(mine)} model/precision/backend combinations: {notes.pop()}.", ""]
            continue
        head = ["model", "precision", "backend"] + [f"FPS {s}" for s in sizes] + \
               ["PSNR-Y", "SSIM", "LPIPS", "tOF", "tLP100", "PSNR-Y vs FP32", "note"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            if r["device"] != device:
                continue
            q = r["quality"] or {}
            gt = q.get("vs_gt") or {}
            cells = [r["model"], _precision_text(r), r["backend"]] + [_f(r["fps"].get(s)) for s in sizes]
            cells += [_f(gt.get(m), _DIGITS[m]) for m in QUALITY_METRICS]
            cells += [_vs_fp32_psnr(q), r["note"] or ""]
            lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
        lines.append("")
    trade = tradeoff_rows(report)
    if trade:
        lines += ["## What each precision costs (vs FP32 of the same model and backend)", ""]
        head = ["device", "model", "backend", "precision"] + [f"speed-up {s}" for s in sizes] + \
               ["PSNR-Y vs FP32 output", "LPIPS vs FP32 output", "d PSNR-Y (GT)", "d LPIPS (GT)", "d tOF (GT)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in trade:
            cells = [r["device"], r["model"], r["backend"], _precision_text(r)]
            cells += [f"{r['speedup'][s]:.2f}x" if s in r["speedup"] else "-" for s in sizes]
            cells += [_f(r["vs_fp32"].get("psnr_y")), _f(r["vs_fp32"].get("lpips"), 4),
                      _delta(r["delta"]["psnr_y"], 2), _delta(r["delta"]["lpips"], 4), _delta(r["delta"]["tof"], 3)]
            lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
        lines.append("")
    lines.append("Machines:")
    for env in report["machines"].values():
        lines.append(f"- {machine_line(env)}")
    if report.get("command"):
        lines += ["", f"Command: `{report['command']}`"]
    if report.get("source_commands"):
        lines += ["", "Merged from the reports made by:"] + [f"- `{c}`" for c in report["source_commands"]]
    lines.append("")
    return "\n".join(lines)


def machine_line(env: dict) -> str:
    gpu = env.get("jetson") or env.get("gpu") or "no GPU"
    commit = (env.get("commit") or "unknown")[:10] + (" (local changes)" if env.get("dirty") else "")
    return (f"CPU {env.get('cpu')} ({env.get('cpu_count')} cores, {threads_text(env, 'torch ')}), "
            f"{gpu}; {env.get('platform')}; Python {env.get('python')}, torch {env.get('torch')}, "
            f"onnxruntime {env.get('onnxruntime')}, TensorRT {env.get('tensorrt') or 'not installed'}, "
            f"OpenCV {env.get('opencv')}; edgevsr {env.get('edgevsr')} commit {commit}"
            + (f"; OMP_WAIT_POLICY={env['omp_wait_policy']}" if env.get("omp_wait_policy") else ""))


BASELINES = ("opencv-bicubic", "bicubic-bd")  # what a user gets with cv2.resize; the fair aligned baseline


def baseline_findings(report: dict) -> list[str]:
    """Each model's FP32 quality against the bicubic baselines on the same machine and evaluation set."""
    report = with_panels(report)
    out = []
    for device in _devices(report):
        scored = {}
        for c in iter_measured(report):
            gt = (c.get("quality") or {}).get("vs_gt")
            if c["device"] == device and c["precision"] == "fp32" and gt and gt.get("psnr_y") is not None:
                scored.setdefault(c["model"], gt)
        bases = {b: scored[b] for b in BASELINES if b in scored}
        for model, gt in scored.items():
            if model in BASELINES or model == "bicubic" or not bases:
                continue
            parts = [f"{d:+.2f} dB PSNR-Y, LPIPS {gt['lpips']:.4f} vs {b['lpips']:.4f}, tOF {gt['tof']:.3f} vs "
                     f"{b['tof']:.3f} against {name}" for name, b in bases.items()
                     for d in [gt["psnr_y"] - b["psnr_y"]] if gt.get("lpips") is not None
                     and b.get("lpips") is not None and gt.get("tof") is not None and b.get("tof") is not None]
            if parts:
                out.append(f"{device}: {model} (FP32): " + "; ".join(parts) + ".")
    return out


def findings(report: dict) -> list[str]:
    """Plain-language answers read off the cells (no opinion added): what reaches real time, what is best."""
    report = with_panels(report)
    out = []
    for device in _devices(report):
        cells = [c for c in iter_measured(report) if c["device"] == device]
        for size in _sizes(cells):
            here = [c for c in cells if c["size"] == size]
            w, h = (int(v) for v in size.split("x"))
            rt = [c for c in here if c["speed"]["fps"] >= 25]
            scored = [c for c in here if (c.get("quality") or {}).get("vs_gt", {}).get("lpips") is not None]
            fastest = max(here, key=lambda c: c["speed"]["fps"])
            text = (f"{device}, {size} -> {4 * w}x{4 * h}: fastest {cell_label(fastest)} at "
                    f"{fastest['speed']['fps']:.2f} FPS; {len(rt)} of {len(here)} measured cells reach 25 FPS")
            rt_q = [c for c in rt if c in scored]
            def by_lpips(c):  # ties (to 4 decimals) go to the faster cell
                return round(c["quality"]["vs_gt"]["lpips"], 4), -c["speed"]["fps"]

            if rt_q:
                best = min(rt_q, key=by_lpips)
                text += (f"; best LPIPS at >= 25 FPS: {cell_label(best)} "
                         f"({best['quality']['vs_gt']['lpips']:.4f}, {best['speed']['fps']:.1f} FPS)")
            if scored:
                best = min(scored, key=by_lpips)
                text += (f"; best LPIPS overall: {cell_label(best)} ({best['quality']['vs_gt']['lpips']:.4f}, "
                         f"{best['speed']['fps']:.2f} FPS)")
            out.append(text + ".")
    out += baseline_findings(report)
    for device in _devices(report):
        cells = [c for c in iter_measured(report) if c["device"] == device and c["speed"].get("loadavg")]
        env = report["machines"].get(cells[0]["machine"], {}) if cells else {}
        if cells and env.get("cpu_count"):
            load = max(max(c["speed"]["loadavg"]) for c in cells)
            if load > 0.75 * env["cpu_count"]:
                out.append(f"{device}: load average up to {load:.1f} on {env['cpu_count']} CPUs while timing - "
                           "other processes shared the CPU, so these FPS are lower bounds.")
    counts = {}
    for c in report["cells"]:
        if c["status"] != "measured":
            counts[c.get("reason") or c["status"]] = counts.get(c.get("reason") or c["status"], 0) + 1
    for reason, n in counts.items():
        known = reason.startswith(("not measured", "failed"))
        out.append(f"{n} cell(s) {reason if known else 'not measured: ' + reason}.")
    untrained = sorted({c["model"] for c in report["cells"] if c.get("trained") is False})
    if untrained:
        out.append(f"Timed with untrained weights, quality not measured (no trained weights): {', '.join(untrained)}.")
    return out


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}tr.nm td{color:#888}img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.note{color:#555;font-size:12px}.warn{color:#a00}code{background:#f4f4f4;padding:1px 3px}
#img-missing{display:none;color:#fff;background:#c00;padding:6px}
"""

# Marks the page when any embedded image fails to decode (a test reads these attributes).
_IMG_CHECK = """
<script>
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } else { bad++; }
  }
  document.body.setAttribute('data-images-loaded', ok);
  document.body.setAttribute('data-images-broken', bad);
  if (bad) { var m = document.getElementById('img-missing'); m.style.display = 'block';
             m.textContent = bad + ' image(s) failed to load'; }
});
</script>
"""


def _td(v, left: bool = False) -> str:
    return f"<td{' class=l' if left else ''}>{html.escape(str(v))}</td>"


def render_html(report: dict, plots: list[tuple[str, Path]]) -> str:
    report = with_panels(report)
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
             "<title>edgevsr report</title>", f"<style>{_CSS}</style></head><body>",
             "<div id=img-missing></div>", "<h1>edgevsr accuracy-vs-speed report</h1>"]
    meta = f"created {e(report['created'])}"
    if report.get("command"):
        meta += f" by <code>{e(report['command'])}</code>"
    if report.get("merged_from"):
        meta += " - merged from " + ", ".join(f"<code>{e(s)}</code>" for s in report["merged_from"])
    if report.get("source_commands"):
        meta += "; those were made by " + "; ".join(f"<code>{e(c)}</code>" for c in report["source_commands"])
    parts.append(f"<p class=note>{meta}</p>")
    parts.append("<h2>Findings</h2><ul>" + "".join(f"<li>{e(t)}</li>" for t in findings(report)) + "</ul>")
    ev = report["eval"]
    parts.append(f"<p class=note>Evaluation set: {e(ev['description'])}. Reference for 'vs FP32': "
                 f"{e(ev['reference'])}. {e(ev.get('calibration', ''))}.</p>")
    if ev.get("warning"):
        parts.append(f"<p class=warn>{e(ev['warning'])}</p>")
    parts.append("<h2>Plots</h2>")
    for caption, path in plots:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption class=note>{e(caption)}</figcaption></figure>")
    # summary table
    rows = summary_rows(report)
    sizes = rows[0]["sizes"] if rows else []
    parts.append("<h2>Summary (one row per model / precision / backend)</h2><table><tr>")
    heads = ["device", "model", "precision", "backend"] + [f"FPS {s}" for s in sizes] + \
        [METRIC_LABELS[m] for m in QUALITY_METRICS] + ["PSNR-Y vs FP32", "LPIPS vs FP32", "note"]
    parts.append("".join(f"<th class=l>{e(h)}</th>" if i < 4 or h == "note" else f"<th>{e(h)}</th>"
                         for i, h in enumerate(heads)) + "</tr>")
    for r in rows:
        q = r["quality"] or {}
        gt, ref = q.get("vs_gt") or {}, q.get("vs_fp32") or {}
        measured = "measured" in r["status"]
        tds = [_td(r["device"], True), _td(r["model"], True), _td(_precision_text(r), True), _td(r["backend"], True)]
        tds += [_td(_f(r["fps"].get(s))) for s in sizes]
        tds += [_td(_f(gt.get(m), _DIGITS[m])) for m in QUALITY_METRICS]
        tds += [_td(_vs_fp32_psnr(q)),
                _td("reference" if q.get("is_fp32_reference") else _f(ref.get("lpips"), 4)),
                _td(r["note"] or "", True)]
        parts.append(f"<tr{'' if measured else ' class=nm'}>" + "".join(tds) + "</tr>")
    parts.append("</table>")
    trade = tradeoff_rows(report)
    if trade:
        parts.append("<h2>What each precision costs (vs FP32 of the same model and backend)</h2><table><tr>")
        heads = ["device", "model", "backend", "precision"] + [f"speed-up {s}" for s in sizes] + \
            ["PSNR-Y vs FP32 output", "LPIPS vs FP32 output", "&Delta; PSNR-Y vs GT", "&Delta; LPIPS vs GT",
             "&Delta; tOF vs GT"]
        parts.append("".join(f"<th class=l>{h}</th>" for h in heads) + "</tr>")
        for r in trade:
            tds = [_td(r["device"], True), _td(r["model"], True), _td(r["backend"], True),
                   _td(_precision_text(r), True)]
            tds += [_td(f"{r['speedup'][s]:.2f}x" if s in r["speedup"] else "-") for s in sizes]
            tds += [_td(_f(r["vs_fp32"].get("psnr_y"))), _td(_f(r["vs_fp32"].get("lpips"), 4)),
                    _td(_delta(r["delta"]["psnr_y"], 2)), _td(_delta(r["delta"]["lpips"], 4)),
                    _td(_delta(r["delta"]["tof"], 3))]
            parts.append("<tr>" + "".join(tds) + "</tr>")
        parts.append("</table><p class=note>Speed-up = FPS / FPS of FP32 on the same backend and size. Quality "
                     "blank = not measured (no trained weights).</p>")
    # every cell
    parts.append("<h2>Every cell (speed per input size)</h2><table><tr>")
    cols = ["device", "model", "precision", "backend", "input", "output", "status", "FPS", "median ms", "p90 ms",
            "p99 ms", "peak MiB", "GFLOP/frame", "achieved GFLOP/s", "% of peak", "W", "FPS/W", "weights"]
    parts.append("".join(f"<th class=l>{e(h)}</th>" for h in cols) + "</tr>")
    for c in report["cells"]:
        sp = c.get("speed") or {}
        lat = sp.get("latency_ms") or {}
        status = c["status"] if c["status"] == "measured" else (c.get("reason") or c["status"])
        if c.get("cached"):
            status += " (cached)"
        tds = [_td(c["device"], True), _td(c["model"], True), _td(c["precision"], True), _td(c["backend"], True),
               _td(c["size"]), _td(c.get("output_size", "")), _td(status, True), _td(_f(sp.get("fps"))),
               _td(_f(lat.get("median"), 1)), _td(_f(lat.get("p90"), 1)), _td(_f(lat.get("p99"), 1)),
               _td(_f(sp.get("peak_mib"), 0)), _td(_f(sp.get("gflop_per_frame"), 1)),
               _td(_f(sp.get("achieved_gflops"), 1)), _td(_f(sp.get("roofline_pct"), 1)),
               _td(_f(sp.get("power_w"), 1)), _td(_f(sp.get("fps_per_w"), 3)),
               _td(c.get("weights") or "", True)]
        parts.append(f"<tr{'' if c['status'] == 'measured' else ' class=nm'}>" + "".join(tds) + "</tr>")
    parts.append("</table>")
    parts.append("<h2>Machines</h2><table><tr><th class=l>id</th><th class=l>environment</th></tr>")
    for mid, env in report["machines"].items():
        parts.append(f"<tr>{_td(mid, True)}{_td(machine_line(env), True)}</tr>")
    parts.append("</table>")
    parts.append(f"<h2>Definitions</h2><ul class=note>{_DEFINITIONS}</ul>")
    parts.append(_IMG_CHECK + "</body></html>")
    return "\n".join(parts)


_DEFINITIONS = "".join(f"<li>{t}</li>" for t in (
    "FPS: timed frames / wall time of the timed loop, after untimed warm-up frames, through the same streaming "
    "upscaler as <code>edgevsr upscale</code> (uint8 in, uint8 out, recurrent state kept); every stage is "
    "synchronised (edgevsr profile). Latency percentiles are per frame.",
    "Peak memory: CPU = peak resident set of the whole process during the timed frames (includes everything "
    "else loaded in it); GPU = torch.cuda.max_memory_allocated.",
    "W, FPS/W: average GPU / board power over the timed frames from NVML (desktop GPUs) or jtop (Jetson) when "
    "installed (pip install 'edgevsr[nvml]' / 'edgevsr[jetson]'); blank on CPU runs.",
    "GFLOP/frame = 2 x multiply-accumulates of the conv layers at the padded LR size; % of peak = achieved / "
    "device peak (CPU: measured FP32 matrix-product peak; GPU: vendor data sheet).",
    "PSNR-Y / SSIM-Y: BT.601 Y, 8-pixel border cropped. LPIPS: AlexNet-lin v0.1. tOF: Farneback flow "
    "difference. tLP100: 100 x |LPIPS(gt[t-1], gt[t]) - LPIPS(out[t-1], out[t])| (TecoGAN / EGVSR code).",
    "'vs FP32': the same metrics with the FP32 PyTorch output of the same model and weights in place of the "
    "ground truth: what the precision / backend itself costs.",
    "Cells that cannot run on a machine (no GPU, no TensorRT, no trained weights for quality) are listed as "
    "not measured; nothing is estimated.",
))


def render_all(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, cells.csv, plots, report.html and summary.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": write_json(report, out_dir / "report.json"), "csv": write_csv(report, out_dir / "cells.csv")}
    plots = draw_plots(report, out_dir)
    for i, (_, p) in enumerate(plots):
        written[f"plot{i}"] = p
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(render_html(report, plots))
    written["html"] = out_dir / "report.html"
    with atomic_path(out_dir / "summary.md") as tmp:
        tmp.write_text(render_markdown(report))
    written["markdown"] = out_dir / "summary.md"
    return written
