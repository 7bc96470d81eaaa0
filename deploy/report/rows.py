"""The report's cells as table rows: one row per (device, model, precision, backend), precision trade-offs."""

from __future__ import annotations

import math

from edgevsr.deploy.provenance import threads_text
from edgevsr.deploy.report.config import QUALITY_METRICS
from edgevsr.deploy.report.merge import eval_sets, iter_measured


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


def panel_devices(report: dict) -> list[str]:
    seen = []
    for c in iter_measured(report):
        if c["device"] not in seen:
            seen.append(c["device"])
    return seen


def cell_sizes(cells: list[dict]) -> list[str]:
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


def quality_note(cell: dict) -> str | None:
    q = cell.get("quality")
    if q is None:
        return cell.get("quality_note")
    if q.get("is_fp32_reference"):
        return "FP32 reference"
    if q.get("identical_to_fp32"):
        return "identical to FP32"
    return None


def fmt(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


DIGITS = {"psnr_y": 2, "ssim_y": 4, "lpips": 4, "tof": 3, "tlp100": 3}


def summary_rows(report: dict) -> list[dict]:
    """One row per (device, model, precision, backend): FPS at each size and the quality figures."""
    report = with_panels(report)
    sizes = cell_sizes(report["cells"])
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


def vs_fp32_text(q: dict) -> str:
    if q.get("is_fp32_reference"):
        return "reference"
    if q.get("identical_to_fp32"):
        return "identical"
    return fmt((q.get("vs_fp32") or {}).get("psnr_y"))


def delta_text(v, digits: int) -> str:
    return "-" if v is None else f"{v:+.{digits}f}"


def precision_text(r: dict) -> str:
    p = r["precision"]
    op = r.get("onnx_precision")
    if op and op != p:
        p += f" (file: {op})"
    if r.get("int8_groups") and p.startswith(("int8", "mixed")):
        p += f", {r['int8_groups']} groups INT8"
    return p


def machine_line(env: dict) -> str:
    gpu = env.get("jetson") or env.get("gpu") or "no GPU"
    commit = (env.get("commit") or "unknown")[:10] + (" (local changes)" if env.get("dirty") else "")
    return (f"CPU {env.get('cpu')} ({env.get('cpu_count')} cores, {threads_text(env, 'torch ')}), "
            f"{gpu}; {env.get('platform')}; Python {env.get('python')}, torch {env.get('torch')}, "
            f"onnxruntime {env.get('onnxruntime')}, TensorRT {env.get('tensorrt') or 'not installed'}, "
            f"OpenCV {env.get('opencv')}; edgevsr {env.get('edgevsr')} commit {commit}"
            + (f"; OMP_WAIT_POLICY={env['omp_wait_policy']}" if env.get("omp_wait_policy") else ""))
