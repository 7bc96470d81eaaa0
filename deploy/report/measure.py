"""Measuring one cell group: speed through the shared profiling session, quality against GT and FP32."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.deploy.report.config import BACKENDS, CPU_FP16
from edgevsr.deploy.session import ProfilingSession
from edgevsr.errors import EdgeVSRError
from edgevsr.quality.paired import PairedClip


def finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def unavailable(backend: str, precision: str, has_cuda: bool) -> str | None:
    """Why a (backend, precision) cannot be measured on this machine, or None."""
    kind, device = BACKENDS[backend]
    if device == "cuda" and not has_cuda:
        return "not measured: no GPU"
    if backend == "torch-cpu" and precision == "fp16":
        return CPU_FP16
    if kind == "onnxruntime" and device == "cuda":
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return "not measured: this onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    if kind == "tensorrt":
        try:
            from edgevsr.backends.tensorrt.runner import require_tensorrt

            require_tensorrt()
        except EdgeVSRError:
            return "not measured: TensorRT is not installed"
    return None


def measure_speed(session: ProfilingSession, runner: Runner, frames: list[np.ndarray], warmup: int, model: str,
                  device: str) -> dict:
    """The session's profile of ``runner``, kept to the figures a report compares (power where a sensor is read)."""
    r = session.profile(runner, frames, warmup, model, device, source="built-in photo clip")
    pw = r.get("power") or {}
    lat = r["latency_ms"]
    comp = r["compute"]
    return {"fps": r["fps"], "fps_median": r["fps_median"],
            "latency_ms": {k: lat[k] for k in ("median", "p90", "p99", "mean", "max")},
            "stage_share": r["stage_share"], "peak_mib": r["memory"]["peak_mib"],
            "memory_method": r["memory"]["method"],
            "gflop_per_frame": comp["gflop_per_frame"], "achieved_gflops": comp["achieved_gflops"],
            "peak_gflops": comp["peak_gflops"], "roofline_pct": comp["roofline_pct"],
            "peak_source": comp.get("peak_source"), "compute_note": comp.get("note"),
            "frames": r["frames"], "output": r["input"]["output"],
            "power_w": pw.get("avg_w"), "fps_per_w": pw.get("fps_per_w"),
            "loadavg": [r["environment"]["loadavg_before"][0], r["environment"]["loadavg_after"][0]]}


def run_clip(runner: Runner, lr: list[np.ndarray]) -> list[np.ndarray]:
    from edgevsr.stream import FrameUpscaler

    with runner:
        return list(FrameUpscaler(runner).run(lr))


def measure_quality(outputs: list[list[np.ndarray]], clips: list[PairedClip], reference: list[list[np.ndarray]] | None,
                    scorer) -> dict:
    """Dataset means (mean over sequences of per-sequence means) vs GT and vs the FP32 reference outputs."""
    from edgevsr.quality.scorer import DatasetScores

    metrics = scorer.options.metric_names()
    vs_gt, vs_ref = DatasetScores("output vs gt", metrics), DatasetScores("output vs fp32", metrics)
    for i, clip in enumerate(clips):
        streams = {"output": outputs[i], "gt": clip.gt}
        pairs = [("output", "gt")]
        if reference is not None:
            streams["fp32"] = reference[i]
            pairs.append(("output", "fp32"))
        r = scorer.score_sequence(clip.name, streams, pairs)
        vs_gt.sequences.append(r[("output", "gt")])
        if reference is not None:
            vs_ref.sequences.append(r[("output", "fp32")])
    out = {"vs_gt": {k: finite(v) for k, v in vs_gt.mean().items()},
           "frames": sum(len(c.gt) for c in clips), "sequences": len(clips)}
    if reference is not None:
        m = vs_ref.mean()
        out["vs_fp32"] = {k: finite(v) for k, v in m.items()}
        out["identical_to_fp32"] = m.get("psnr_y") is not None and math.isinf(m["psnr_y"])
    return out
