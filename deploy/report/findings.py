"""Analysis read off the cells: the Pareto front and plain-language findings (no opinion added)."""

from __future__ import annotations

from collections.abc import Sequence

from edgevsr.deploy.report.merge import iter_measured
from edgevsr.deploy.report.rows import cell_label, cell_sizes, panel_devices, with_panels

LOWER_IS_BETTER = {"lpips": True, "tof": True, "tlp100": True, "psnr_y": False, "ssim_y": False}


# Differences below these are measurement noise / backend rounding, not a quality difference (Pareto ties).
TIES = {"lpips": 1e-4, "tof": 1e-3, "tlp100": 1e-3, "psnr_y": 0.01, "ssim_y": 1e-4}


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


BASELINES = ("opencv-bicubic", "bicubic-bd")  # what a user gets with cv2.resize; the fair aligned baseline


def baseline_findings(report: dict) -> list[str]:
    """Each model's FP32 quality against the bicubic baselines on the same machine and evaluation set."""
    report = with_panels(report)
    out = []
    for device in panel_devices(report):
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
    for device in panel_devices(report):
        cells = [c for c in iter_measured(report) if c["device"] == device]
        for size in cell_sizes(cells):
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
    for device in panel_devices(report):
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
