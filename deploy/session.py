"""One profiling session: what ``edgevsr profile`` and ``edgevsr.profile(...)`` both run.

Sizes -> frames (synthetic panning texture or a real clip), a runner (a cached TensorRT engine built
for those sizes when given an ONNX file), MACs, the device peak, the power probe, then
:func:`edgevsr.deploy.profile.profile_runner` per size. Messages leave through ``log``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.registry import RunnerConfig
from edgevsr.errors import EdgeVSRError
from edgevsr.sizes import Size, parse_size

FILE_SCHEMA = "edgevsr.profile/1"
Log = Callable[[str], None]


@dataclass
class ProfileResult:
    runs: list[dict]  # one per size: latency, FPS, stage shares, memory, compute, power (``--json`` runs)
    on_gpu: bool

    def to_dict(self) -> dict:
        return {"schema": FILE_SCHEMA, "runs": self.runs}


def profile_session(cfg: RunnerConfig, sizes: Sequence[str | Size | tuple[int, int]] = ("240x136",),
                    input: str | Path | None = None, frames: int = 30, warmup: int = 5,
                    peak_tflops: float | None = None, log: Log | None = None) -> ProfileResult:
    """Time ``frames`` frames per size after ``warmup`` (synchronised); one run per size.

    ``cfg.threads`` sets the CPU threads of torch (process-wide) and of the ONNX Runtime session."""
    import torch

    from edgevsr.backends.registry import make_runner
    from edgevsr.deploy import devices
    from edgevsr.deploy.profile import frames_from_file, profile_runner, synthetic_frames
    from edgevsr.models import ARCHITECTURES, build_model

    log = log or (lambda _line: None)
    if frames < 1 or warmup < 0:
        raise EdgeVSRError("--frames must be >= 1 and --warmup >= 0")
    if cfg.layer_timing and cfg.backend != "tensorrt":
        raise EdgeVSRError("--layers needs --backend tensorrt (per-layer times come from TensorRT's IProfiler)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    parsed = [parse_size(s, "size") for s in sizes]
    if input is not None:
        clip, source = frames_from_file(input, warmup + frames)
        clips = [(clip, source)]
    else:
        clips = [(list(synthetic_frames(w, h, warmup + frames)), "synthetic (panning texture, seed 0)")
                 for w, h in parsed]
    if cfg.backend == "tensorrt" and cfg.onnx is not None and Path(cfg.onnx).suffix.lower() == ".onnx":
        cfg.onnx = engine_for(Path(cfg.onnx), clips, cfg.precision == "fp16", log)
    runner, source_desc = make_runner(cfg)
    name = runner.spec.name
    macs = build_model(name).macs_per_lr_pixel() if name in ARCHITECTURES else None
    on_gpu = str(getattr(runner, "device", "cpu")).startswith("cuda")
    probe, power_note = None, "CPU run: no power sensor is read"
    if peak_tflops:
        peak = devices.DevicePeak("user-supplied", peak_tflops, peak_tflops, peak_tflops, None, "--peak-tflops")
    elif on_gpu:
        gpu_name, peak = devices.gpu_peak()
        if peak is None:
            log(f"no peak figures for {gpu_name!r}; pass --peak-tflops for the % of peak")
    else:
        peak = devices.measure_cpu_peak()
        log(f"CPU peak {peak.fp32_tflops * 1000:.1f} GFLOP/s ({peak.source})")
    if on_gpu:
        from edgevsr.deploy.power import open_probe

        probe, power_note = open_probe(0, jetson=devices.jetson_model() is not None)
    if "RANDOM" in source_desc:
        log("weights: random (no trained weights shipped); timing does not depend on weight values")
    log(f"{name} ({source_desc}) on {runner.describe()}")
    runs = []
    for clip, source in clips:
        info = {"weights": source_desc}
        if probe is None:
            info["power_note"] = power_note
        runs.append(profile_runner(runner, clip, warmup, macs_per_lr_pixel=macs, peak=peak, power_probe=probe,
                                   layers=cfg.layer_timing, source=source, info=info))
        if on_gpu and probe is not None:  # a sampler closes its probe; open a fresh one per size
            from edgevsr.deploy.power import open_probe

            probe, power_note = open_probe(0, jetson=devices.jetson_model() is not None)
    return ProfileResult(runs, on_gpu)


def engine_for(onnx: Path, clips: list, fp16: bool, log: Log | None = None) -> Path:
    """A cached engine for ``onnx`` whose profile covers the sizes to time (built once, then reused)."""
    from edgevsr.backends.tensorrt.engine_record import DEFAULT_PROFILE, ShapeProfile
    from edgevsr.deploy.trt_builder import BuildOptions, build_engine, inspect_onnx

    m = inspect_onnx(onnx).spec.size_multiple
    padded = [(c[0].shape[1] + (-c[0].shape[1]) % m, c[0].shape[0] + (-c[0].shape[0]) % m) for c, _ in clips]
    prof = DEFAULT_PROFILE
    if not all(prof.contains(w, h) for w, h in padded):
        prof = ShapeProfile((min(p[0] for p in padded), min(p[1] for p in padded)), padded[0],
                            (max(p[0] for p in padded), max(p[1] for p in padded)))
    opts = BuildOptions(precision="fp16" if fp16 else None, profile=prof)
    return build_engine(onnx, None, opts, log=log or (lambda _line: None)).engine
