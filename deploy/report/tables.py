"""report.json and cells.csv: every scalar a spreadsheet needs, blanks where nothing was measured."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from edgevsr.deploy.report.config import QUALITY_METRICS
from edgevsr.deploy.report.rows import quality_note
from edgevsr.io.atomic import atomic_path

CSV_COLUMNS = (
    ["machine", "device", "model", "precision", "backend", "size", "output_size", "status", "reason", "weights",
     "trained", "onnx_precision", "int8_groups", "fps", "latency_median_ms", "latency_p90_ms", "latency_p99_ms",
     "peak_mib", "gflop_per_frame", "achieved_gflops", "roofline_pct", "power_w", "fps_per_w"]
    + [f"{m}" for m in QUALITY_METRICS] + [f"{m}_vs_fp32" for m in QUALITY_METRICS] + ["quality_note"])


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
