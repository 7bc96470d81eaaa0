"""What the quantizer measures about a candidate ONNX model: output as deployed, PSNR vs FP32, CPU speed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgevsr.models.spec import ModelSpec
from edgevsr.pixels import to_uint8 as round_to_uint8
from edgevsr.quality import metrics as M

PSNR_CAP = 100.0  # identical frames


def session(path: Path, threads: int = 0):
    from edgevsr.backends.onnxruntime.loader import make_session

    return make_session(path, threads=threads)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """1x3xHxW float -> HxWx3 uint8, rounded as every backend rounds (:func:`edgevsr.pixels.to_uint8`)."""
    return round_to_uint8(x[0]).transpose(1, 2, 0)


def psnr_y(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    vals = [min(M.psnr(x, y, "y"), PSNR_CAP) for x, y in zip(a, b, strict=True)]
    return float(np.mean(vals))


def upscale_frames(path: Path, frames: list[np.ndarray]) -> list[np.ndarray]:
    """HR frames of an ONNX model run as deployed (FrameUpscaler over OnnxRuntimeRunner)."""
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.stream import FrameUpscaler

    with OnnxRuntimeRunner(path) as runner:
        return list(FrameUpscaler(runner).run(frames))


def step_outputs(path: Path, steps: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """uint8 HR output of each recorded step (a step is the model's own inputs: no streaming loop needed)."""
    sess = session(path)
    names = [i.name for i in sess.get_inputs()]
    return [to_uint8(sess.run(None, dict(zip(names, s)))[0]) for s in steps]


def speed_side_by_side(ref: Path, cand: Path, spec: ModelSpec, shape: tuple[int, int], runs: int) -> dict:
    """Median seconds per step of both models, alternating runs in one process (same load, same inputs)."""
    h, w = shape
    rng = np.random.default_rng(0)
    s = spec.scale
    if spec.kind == "recurrent":
        inputs = [rng.random((1, 3, h, w), np.float32), rng.random((1, 3, h, w), np.float32),
                  rng.random((1, 3, h * s, w * s), np.float32)]
    else:
        inputs = [rng.random((1, 3 * spec.window, h, w), np.float32)]
    sessions = {"fp32": session(ref), "candidate": session(cand)}
    feeds = {k: dict(zip([i.name for i in v.get_inputs()], inputs)) for k, v in sessions.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for k, sess in sessions.items():
        sess.run(None, feeds[k])  # warm-up
    for _ in range(runs):
        for k, sess in sessions.items():
            t0 = time.perf_counter()
            sess.run(None, feeds[k])
            times[k].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    best = {k: float(np.min(v)) for k, v in times.items()}  # least disturbed by other load on the machine
    # CPU seconds of one thread: what each step costs in compute, whatever else shares the cores
    cpu: dict[str, list[float]] = {k: [] for k in sessions}
    single = {"fp32": session(ref, 1), "candidate": session(cand, 1)}
    for k, sess in single.items():
        sess.run(None, feeds[k])  # warm-up
    for _ in range(max(1, runs // 3)):
        for k, sess in single.items():
            c0 = time.process_time()
            sess.run(None, feeds[k])
            cpu[k].append(time.process_time() - c0)
    cpu_med = {k: float(np.median(v)) for k, v in cpu.items()}
    return {"shape": f"{w}x{h}", "runs": runs, "fp32_s": med["fp32"], "candidate_s": med["candidate"],
            "speedup": med["fp32"] / med["candidate"], "fp32_min_s": best["fp32"],
            "candidate_min_s": best["candidate"], "speedup_min": best["fp32"] / best["candidate"],
            "fp32_cpu_s_1thread": cpu_med["fp32"], "candidate_cpu_s_1thread": cpu_med["candidate"],
            "speedup_cpu_1thread": cpu_med["fp32"] / cpu_med["candidate"]}
