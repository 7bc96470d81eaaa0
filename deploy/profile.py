"""`edgevsr profile`: honest, synchronised per-frame timing of any backend.

Frames go through the same :class:`~edgevsr.stream.FrameUpscaler` as
``upscale``, with each runner stage timed separately (``prepare`` = upload +
uint8->float + padding, ``infer``, ``finish`` = float->uint8 + download), every
stage followed by the runner's own synchronisation, so asynchronous GPU work is
never mistaken for speed. After ``warmup`` untimed frames, ``frames`` timed
frames give median / p90 / p99 latency, throughput, the share of each stage,
peak memory, FLOPs per frame against the device peak, and power when a sensor
library is installed. The result is one JSON-able dict (schema ``edgevsr.profile/1``).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import DelegatingRunner, Runner
from edgevsr.errors import EdgeVSRError
from edgevsr.stream import FrameUpscaler

from .devices import DevicePeak

SCHEMA = "edgevsr.profile/1"
STAGES = ("pre", "infer", "post")


class TimedRunner(DelegatingRunner):
    """Runs ``inner`` and records the synchronised wall time of each stage of each call."""

    def __init__(self, inner: Runner):
        super().__init__(inner)
        self.times: dict[str, list[float]] = {s: [] for s in STAGES}
        self.gpu_times: list[float] = []

    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.inner.synchronize()
        self.times[stage].append(time.perf_counter() - t0)
        return out

    def clear(self) -> None:
        for v in (*self.times.values(), self.gpu_times):
            v.clear()

    def infer(self, *inputs: Any) -> Any:
        out = self._timed("infer", super().infer, *inputs)
        if getattr(self.inner, "gpu_time", None):  # CUDA-event time of the enqueue (TensorRT runner)
            self.gpu_times.append(self.inner.gpu_time)
        return out

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int) -> Any:
        return self._timed("pre", super().prepare, frame, pad_h, pad_w)

    def concat(self, tensors: list[Any]) -> Any:
        return self._timed("pre", super().concat, tensors)

    def zeros_like_hr(self, lr: Any) -> Any:
        return self._timed("pre", super().zeros_like_hr, lr)

    def finish(self, out: Any, height: int, width: int) -> np.ndarray:
        return self._timed("post", super().finish, out, height, width)


def synthetic_frames(width: int, height: int, count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The sample photo panned 2 px down / 3 px right per frame (:func:`edgevsr.demo.pan_clip`): deterministic."""
    from edgevsr.demo import pan_clip

    yield from pan_clip(count, height, width, seed)


def frames_from_file(path: str | Path, count: int) -> tuple[list[np.ndarray], str]:
    """The first ``count`` frames of a video / folder / image (looped when it has fewer)."""
    from edgevsr.io.frames import FrameSource

    frames = []
    for frame in FrameSource(path):
        frames.append(frame)
        if len(frames) == count:
            break
    if not frames:
        raise EdgeVSRError(f"{path}: no frames")
    have = len(frames)
    note = "" if have == count else f" (looped: {have} frames)"
    while len(frames) < count:
        frames.append(frames[len(frames) % have])
    return frames, f"{path}{note}"


# memory ----------------------------------------------------------------------------------------------
def _is_cuda(runner: Runner) -> bool:
    return str(getattr(runner, "device", "cpu")).startswith("cuda")


def reset_peak_memory(cuda: bool) -> str:
    """Start a fresh peak; returns how the peak will be measured."""
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
        return "torch.cuda.max_memory_allocated during the timed frames"
    try:  # Linux: writing 5 resets the VmHWM high-water mark of this process
        Path("/proc/self/clear_refs").write_text("5")
        return "peak RSS (VmHWM) during the timed frames"
    except OSError:
        return "peak RSS of the whole process (could not reset the high-water mark)"


def peak_memory_mib(cuda: bool) -> float:
    if cuda:
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# statistics ------------------------------------------------------------------------------------------
def latency_stats(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"mean": float(ms.mean()), "median": float(p50), "p90": float(p90), "p99": float(p99),
            "min": float(ms.min()), "max": float(ms.max()), "std": float(ms.std())}


def environment(ort_threads: int | None = None) -> dict:
    """Versions, CPU/GPU and thread counts; ``ort_threads`` is what the ONNX Runtime session was given."""
    import torch

    env = {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "ort_threads": str(ort_threads) if ort_threads else "default", "command": " ".join(sys.argv)}
    from .devices import cpu_name

    env["cpu"] = cpu_name()
    for mod in ("onnxruntime", "tensorrt"):
        try:
            env[mod] = __import__(mod).__version__
        except ImportError:
            env[mod] = None
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(torch.cuda.current_device())  # the device the runner set
        env["cuda"] = torch.version.cuda
    return env


def profile_runner(runner: Runner, frames: list[np.ndarray], warmup: int = 5, *, macs_per_lr_pixel: float | None,
                   peak: DevicePeak | None, power_probe=None, layers: bool = False, source: str = "synthetic",
                   info: dict | None = None) -> dict:
    """Time ``len(frames) - warmup`` frames after ``warmup`` untimed ones; returns the report dict."""
    spec = runner.spec
    if len(frames) <= warmup:
        raise EdgeVSRError(f"profile: need more than {warmup} frames (the warm-up), got {len(frames)}")
    if spec.kind == "windowed" and warmup < spec.window // 2:  # else timed frames would include window fill
        raise EdgeVSRError(f"--warmup {warmup}: {spec.name} sees {spec.window} frames; warm up at least "
                           f"{spec.window // 2} frames")
    h, w = frames[0].shape[:2]
    m = spec.size_multiple
    ph, pw = h + (-h) % m, w + (-w) % m
    timed = TimedRunner(runner)
    cuda = _is_cuda(runner)
    lat: list[float] = []
    per_frame = {s: [] for s in STAGES}
    produced = 0
    with timed:
        up = FrameUpscaler(timed)
        for frame in frames[:warmup]:
            up.push(frame)
        timed.clear()
        profiler = getattr(runner, "layer_profiler", None)
        if profiler is not None:
            profiler.reset()
        mem_method = reset_peak_memory(cuda)
        load_before = list(os.getloadavg())
        sampler = None
        if power_probe is not None:
            from .power import PowerSampler

            sampler = PowerSampler(power_probe).start()
        t_start = time.perf_counter()
        for frame in frames[warmup:]:
            marks = {s: len(timed.times[s]) for s in STAGES}
            t0 = time.perf_counter()
            outs = up.push(frame)
            lat.append(time.perf_counter() - t0)
            produced += len(outs)
            for s in STAGES:
                per_frame[s].append(sum(timed.times[s][marks[s]:]))
        wall = time.perf_counter() - t_start
        reading = sampler.stop() if sampler is not None else None
        peak_mib = peak_memory_mib(cuda)
        load_after = list(os.getloadavg())
        layer_rows = profiler.summary() if (layers and profiler is not None) else None

    n = len(lat)
    total = sum(lat)
    stage_ms = {s: 1000.0 * sum(v) / n for s, v in per_frame.items()}
    stage_ms["other"] = max(0.0, 1000.0 * total / n - sum(stage_ms.values()))
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": spec.name,
        "kind": spec.kind,
        "backend": runner.name,
        "runner": runner.describe(),
        "precision": runner.precision,
        "input": {"width": w, "height": h, "padded": [pw, ph], "output": [w * spec.scale, h * spec.scale],
                  "source": source},
        "frames": {"warmup": warmup, "timed": n, "outputs": produced},
        "latency_ms": latency_stats(lat),
        "fps": n / wall if wall > 0 else 0.0,
        "fps_median": 1000.0 / latency_stats(lat)["median"],
        "stages_ms": stage_ms,
        "stage_share": {s: (v / (1000.0 * total / n) if total else 0.0) for s, v in stage_ms.items()},
        "inference_ms": latency_stats(per_frame["infer"]),
        "memory": {"peak_mib": round(peak_mib, 1), "method": mem_method},
        "compute": compute_figures(macs_per_lr_pixel, pw, ph, float(np.median(per_frame["infer"])), peak,
                                   runner.precision),
        "power": None,
        "layers": layer_rows,
        "environment": {**environment(getattr(runner, "threads", None)), "loadavg_before": load_before,
                        "loadavg_after": load_after},
    }
    if timed.gpu_times:
        report["inference_gpu_ms"] = latency_stats(timed.gpu_times)  # CUDA events around the enqueue
    engine_mem = getattr(runner, "device_memory", None)
    if engine_mem:
        report["memory"]["engine_device_mib"] = round(engine_mem / 2**20, 1)
    if reading is not None:
        pw_ = reading.to_dict()
        pw_["fps_per_w"] = report["fps"] / reading.avg_w if reading.avg_w > 0 else None
        report["power"] = pw_
    if info:
        report.update(info)
    return report


def compute_figures(macs_per_lr_pixel: float | None, width: int, height: int, infer_s: float,
                    peak: DevicePeak | None, precision: str) -> dict:
    """FLOPs per frame (2 x conv MACs at the padded size) and the share of the device peak they achieve."""
    out: dict[str, Any] = {"gflop_per_frame": None, "achieved_gflops": None, "peak_gflops": None,
                           "roofline_pct": None, "device": None, "peak_source": None}
    if macs_per_lr_pixel is None:
        out["note"] = "model MACs unknown (ONNX of an unregistered architecture)"
        return out
    flop = 2.0 * macs_per_lr_pixel * width * height
    out["gflop_per_frame"] = flop / 1e9
    out["achieved_gflops"] = flop / infer_s / 1e9 if infer_s > 0 else None
    if peak is not None:
        out["device"], out["peak_source"] = peak.name, peak.source
        p = peak.for_precision(precision)
        out["peak_gflops"] = p
        if p and out["achieved_gflops"]:
            out["roofline_pct"] = 100.0 * out["achieved_gflops"] / p
        elif p is None:
            out["note"] = f"no {precision} peak known for {peak.name}"
    out["definition"] = ("FLOP = 2 x multiply-accumulates of conv/deconv layers at the padded LR size; "
                         "achieved = FLOP / median inference time; % = achieved / device peak")
    return out
