"""One profiling session: what every timing on this machine shares, set up once for `edgevsr profile` and the report.

:func:`profile_session` is the whole of ``edgevsr profile`` below its tables, shared with ``edgevsr.profile``.

The device peak (the CPU's is measured: seconds of matrix products), the power
probe (a fresh one per timed run: a sampler closes its probe), MACs per LR pixel of
a zoo model, and a TensorRT engine whose shape profile covers the sizes to time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.deploy import devices
from edgevsr.sizes import Size


def macs_per_lr_pixel(model: str) -> float | None:
    """Multiply-accumulates per LR pixel of a zoo architecture (None for anything else, e.g. OpenCV)."""
    from edgevsr.models import ARCHITECTURES, build_model

    return build_model(model).macs_per_lr_pixel() if model in ARCHITECTURES else None


def engine_for(onnx: Path, sizes: Sequence[Size], fp16: bool, log: Callable[[str], None]) -> Path:
    """A cached TensorRT engine for ``onnx`` whose profile covers ``sizes`` (padded to the model's multiple).

    The default profile when it covers them, else min / first / max of the padded sizes.
    """
    from edgevsr.backends.tensorrt.engine_record import DEFAULT_PROFILE, ShapeProfile
    from edgevsr.deploy.trt_builder import build_engine
    from edgevsr.deploy.trt_plan import BuildOptions, inspect_onnx

    m = inspect_onnx(onnx).spec.size_multiple
    padded = [(w + (-w) % m, h + (-h) % m) for w, h in sizes]
    prof = DEFAULT_PROFILE
    if not all(prof.contains(w, h) for w, h in padded):
        prof = ShapeProfile((min(p[0] for p in padded), min(p[1] for p in padded)), padded[0],
                            (max(p[0] for p in padded), max(p[1] for p in padded)))
    opts = BuildOptions(precision="fp16" if fp16 else None, profile=prof)
    return build_engine(onnx, None, opts, log=log).engine


class ProfilingSession:
    """Shared state of the timings on one machine: peaks measured once, a power probe per GPU run."""

    def __init__(self, threads: int | None = None, peak_tflops: float | None = None,
                 status: Callable[[str], None] | None = None):
        self.threads, self.peak_tflops = threads, peak_tflops
        self.status = status or (lambda _msg: None)
        self._peaks: dict[str, devices.DevicePeak | None] = {}
        self.matmul: devices.DevicePeak | None = None  # the CPU's measured torch.mm rate (a column, not the peak)

    def peak(self, device: str, index: int | None = None) -> devices.DevicePeak | None:
        """The device's peak: user-supplied, the GPU's data sheet (dense; FP16 with FP32 accumulate), or the CPU's
        ceiling (FMA units x lanes x 2 x clock x cores in use); the CPU's torch.mm rate goes in ``matmul``."""
        if device not in self._peaks:
            if self.peak_tflops:
                t = self.peak_tflops
                self._peaks[device] = devices.DevicePeak("user-supplied", t, t, t, None, "--peak-tflops")
            elif device == "cuda":
                name, peak = devices.gpu_peak(index)
                if peak is None:
                    self.status(f"no peak figures for {name!r}; pass --peak-tflops for the % of peak")
                self._peaks[device] = peak
            else:
                peak = devices.cpu_ceiling(self.threads)
                self.status("measuring the CPU's FP32 matrix-product rate (shown beside the ceiling)")
                self.matmul = devices.measure_cpu_peak(self.threads)
                self.status(f"CPU peak {peak.fp32_tflops * 1000:.1f} GFLOP/s ({peak.source}); torch.mm rate "
                            f"{self.matmul.fp32_tflops * 1000:.1f} GFLOP/s ({self.matmul.source})")
                self._peaks[device] = peak
        return self._peaks[device]

    @staticmethod
    def power_probe(device: str, index: int | None = None):
        """(probe, None) or (None, why no power is read): board / GPU power via NVML, jtop on a Jetson."""
        if device != "cuda":
            return None, "CPU run: no power sensor is read"
        import torch

        from edgevsr.deploy.power import open_probe

        index = torch.cuda.current_device() if index is None else index
        return open_probe(index, jetson=devices.jetson_model() is not None)

    def profile(self, runner: Runner, frames: list[np.ndarray], warmup: int, model: str, device: str,
                source: str, layers: bool = False, info: dict | None = None) -> dict:
        """:func:`edgevsr.deploy.profile.profile_runner` with this session's peak, a fresh probe and the MACs.

        ``info`` is merged into the result (with a ``power_note`` when no power sensor could be read)."""
        from edgevsr.deploy.profile import profile_runner

        index = getattr(getattr(runner, "device", None), "index", None)
        probe, note = self.power_probe(device, index)
        if probe is None and info is not None:  # say why a run has no power figures
            info = {**info, "power_note": note}
        run = profile_runner(runner, frames, warmup, macs_per_lr_pixel=macs_per_lr_pixel(model),
                             peak=self.peak(device, index), power_probe=probe, layers=layers, source=source, info=info)
        if device != "cuda" and self.matmul is not None:
            run["compute"]["matmul_gflops"] = round(self.matmul.fp32_tflops * 1000.0, 1)
        return run


FILE_SCHEMA = "edgevsr.profile/1"


@dataclass
class ProfileResult:
    runs: list[dict]  # one per size: latency, FPS, stage shares, memory, compute, power (``--json`` runs)
    on_gpu: bool

    def to_dict(self) -> dict:
        return {"schema": FILE_SCHEMA, "runs": self.runs}


def profile_session(cfg, sizes: Sequence[str | tuple[int, int]] = ("240x136",), input: str | Path | None = None,
                    frames: int = 30, warmup: int = 5, peak_tflops: float | None = None,
                    log: Callable[[str], None] | None = None) -> ProfileResult:
    """What ``edgevsr profile`` and ``edgevsr.profile(...)`` run: frames per size (or a real clip), the runner
    of ``cfg`` (a :class:`~edgevsr.backends.registry.RunnerConfig`; a cached engine for an ONNX file on
    tensorrt), then one timed run per size.

    ``cfg.threads`` (torch / onnxruntime options) sets torch's threads (process-wide) and the ONNX Runtime
    session's."""
    import torch

    from edgevsr.backends.registry import make_runner
    from edgevsr.deploy.profile import frames_from_file, synthetic_frames
    from edgevsr.errors import EdgeVSRError
    from edgevsr.io.limits import check_input_size
    from edgevsr.sizes import parse_size

    log = log or (lambda _line: None)
    if frames < 1 or warmup < 0:
        raise EdgeVSRError("--frames must be >= 1 and --warmup >= 0")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if input is not None:
        clips = [frames_from_file(input, warmup + frames)]
    else:
        parsed = [parse_size(s, "size") for s in sizes]
        for w, h in parsed:
            check_input_size(w, h, f"--size {w}x{h}")  # refused before any frame is allocated
        clips = [(list(synthetic_frames(w, h, warmup + frames)), "synthetic (panning photo, seed 0)")
                 for w, h in parsed]
    session = ProfilingSession(cfg.threads, peak_tflops, status=log)
    if cfg.backend == "tensorrt" and cfg.options.engine.suffix.lower() == ".onnx":
        cfg = cfg.with_options(engine=engine_for(cfg.options.engine, [(c[0].shape[1], c[0].shape[0])
                                                                      for c, _ in clips],
                                                 cfg.precision == "fp16", log=log))
    runner, source_desc = make_runner(cfg)
    name = runner.spec.name
    on_gpu = str(getattr(runner, "device", "cpu")).startswith("cuda")
    dev = "cuda" if on_gpu else "cpu"
    session.peak(dev, getattr(getattr(runner, "device", None), "index", None))  # said before the timed runs
    if "RANDOM" in source_desc:
        log("weights: random (no trained weights shipped); timing does not depend on weight values")
    log(f"{name} ({source_desc}) on {runner.describe()}")
    runs = [session.profile(runner, clip, warmup, name, dev, source, layers=getattr(cfg.options, "layer_timing", False),
                            info={"weights": source_desc}) for clip, source in clips]
    return ProfileResult(runs, on_gpu)
