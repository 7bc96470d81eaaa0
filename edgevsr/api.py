"""The public Python API, thin over the functions the CLI runs (one code path for both).

Everything is reachable as ``edgevsr.<name>`` and imported on first use (``import edgevsr`` loads
no torch). Sizes are WIDTHxHEIGHT: ``"480x272"``, ``Size(480, 272)`` or ``(480, 272)``.
``edgevsr.upscale`` and ``edgevsr.quantize`` are the callable module / stage package of the same
name (:func:`edgevsr.upscale.upscale`, :func:`edgevsr.quantize.entry.quantize`). See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edgevsr.sizes import Size

if TYPE_CHECKING:
    from edgevsr.backends.base import Runner
    from edgevsr.deploy.session import ProfileResult
    from edgevsr.deploy.trt_builder import BuildResult
    from edgevsr.models.base import VSRModel
    from edgevsr.quality.scorer import DatasetScores

SizeLike = str | Size | tuple[int, int]
Log = Callable[[str], None]


def load_model(name: str, weights: str | Path | None = None, *, allow_random: bool = False) -> VSRModel:
    """A zoo model (``edgevsr models``) with shipped weights, a ``.safetensors``/``.pth`` file or a shipped name."""
    from edgevsr.weights import load_model as load

    return load(name, str(weights) if weights is not None else None, allow_random=allow_random)[0]


def make_runner(model: str | None = None, *, weights: str | Path | None = None, backend: str = "torch",
                onnx: str | Path | None = None, device: str = "cpu", precision: str | None = None,
                allow_random: bool = False, threads: int | None = None, compile: bool = False,
                channels_last: bool = False, cuda_graph: bool = False, layer_timing: bool = False) -> Runner:
    """A backend runner (torch / onnxruntime / tensorrt / opencv) for :class:`edgevsr.stream.FrameUpscaler`.

    ``model`` / ``precision`` None: egvsr in fp32 (torch), or what the ONNX / engine holds; a value that
    contradicts the file is refused. ``onnx`` is the ONNX file (onnxruntime) or engine (tensorrt), and picks
    that backend when ``backend`` is left at torch. ``threads`` (torch, onnxruntime), ``compile`` /
    ``channels_last`` (torch), ``cuda_graph`` (torch, tensorrt) and ``layer_timing`` (tensorrt) are the
    backend's options (:mod:`edgevsr.backends.registry`): one the backend would not read is refused.
    """
    from edgevsr.backends.registry import make_runner as make
    from edgevsr.backends.registry import runner_config

    return make(runner_config(model=model, weights=weights, backend=backend, device=device, precision=precision,
                              allow_random=allow_random, onnx=onnx, threads=threads, compile=compile,
                              channels_last=channels_last, cuda_graph=cuda_graph, layer_timing=layer_timing))[0]


def build_engine(onnx: str | Path, output: str | Path | None = None, *, precision: str | None = None,
                 path: str = "auto", min: SizeLike | None = None, opt: SizeLike | None = None,
                 max: SizeLike | None = None, workspace_mib: int = 4096, calibration_cache: str | Path | None = None,
                 timing_cache: str | Path | None = None, dla_core: int | None = None, opt_level: int | None = None,
                 cache_dir: str | Path | None = None, force: bool = False, log: Log | None = None) -> BuildResult:
    """A TensorRT engine (plus provenance sidecar) from an edgevsr ONNX export, as ``edgevsr build``.

    ``min`` / ``opt`` / ``max`` None: the default shape profile (:data:`edgevsr.sizes.ENGINE_PROFILE`)."""
    from edgevsr.deploy.provenance import EngineCache
    from edgevsr.deploy.trt_builder import build_engine as build

    _facts, opts = build_options(onnx, precision=precision, path=path, min=min, opt=opt, max=max,
                                 workspace_mib=workspace_mib, calibration_cache=calibration_cache,
                                 timing_cache=timing_cache, dla_core=dla_core, opt_level=opt_level)
    return build(onnx, output, opts, cache=EngineCache(Path(cache_dir)) if cache_dir else None, force=force,
                 log=log or (lambda _line: None))


def build_options(onnx: str | Path, *, precision: str | None = None, path: str = "auto", min: SizeLike | None = None,
                  opt: SizeLike | None = None, max: SizeLike | None = None, workspace_mib: int = 4096,
                  calibration_cache: str | Path | None = None, timing_cache: str | Path | None = None,
                  dla_core: int | None = None, opt_level: int | None = None):
    """(ONNX facts, BuildOptions) for ``onnx``: the one place `edgevsr build` and :func:`build_engine` make them."""
    from edgevsr.backends.tensorrt.engine_record import ShapeProfile
    from edgevsr.deploy.trt_plan import BuildOptions, inspect_onnx
    from edgevsr.sizes import ENGINE_PROFILE, fmt_size, parse_size

    facts = inspect_onnx(onnx)
    given = zip((min, opt, max), ("min", "opt", "max"), ENGINE_PROFILE)
    sizes = [fmt_size(parse_size(v, n) if v is not None else d) for v, n, d in given]
    return facts, BuildOptions(precision=precision, path=path,
                               profile=ShapeProfile.parse(*sizes, facts.spec.size_multiple),
                               workspace_mib=workspace_mib, calibration_cache=_path(calibration_cache),
                               timing_cache=_path(timing_cache), dla_core=dla_core, opt_level=opt_level)


def profile(backend: str = "torch", *, model: str | None = None, weights: str | Path | None = None,
            onnx: str | Path | None = None, engine: str | Path | None = None, device: str = "cpu",
            precision: str | None = None, sizes: Sequence[SizeLike] = ("240x136",), input: str | Path | None = None,
            frames: int = 30, warmup: int = 5, threads: int | None = None, layers: bool = False,
            cuda_graph: bool = False, compile: bool = False, channels_last: bool = False,
            peak_tflops: float | None = None, allow_random: bool = False, log: Log | None = None) -> ProfileResult:
    """Synchronised latency / FPS / memory / roofline / power per size, as ``edgevsr profile``."""
    from edgevsr.backends.registry import runner_config
    from edgevsr.deploy.session import profile_session

    cfg = runner_config(model=model, weights=weights, backend=backend, device=device, precision=precision,
                        allow_random=allow_random, onnx=onnx, engine=engine, threads=threads, compile=compile,
                        channels_last=channels_last, cuda_graph=cuda_graph, layer_timing=layers)
    return profile_session(cfg, sizes, input, frames, warmup, peak_tflops, log)


def _scorer(lpips: bool, tof: bool, border: int, device: str, lpips_weights: str | Path | None):
    from edgevsr.quality.scorer import EvalOptions, Scorer

    return Scorer(EvalOptions(border=border, lpips=lpips, tof=tof, device=device,
                              lpips_weights=str(lpips_weights) if lpips_weights else None))


def evaluate(outputs: str | Path, gt: str | Path, *, lpips: bool = True, tof: bool = True, border: int = 8,
             device: str = "cpu", lpips_weights: str | Path | None = None,
             on_frames: Callable[[int], None] | None = None) -> DatasetScores:
    """PSNR-Y / SSIM-Y / LPIPS / tOF / tLP100 of output sequences against ground truth, as ``edgevsr eval``."""
    from edgevsr.quality.evaluate import evaluate_outputs

    return evaluate_outputs(outputs, gt, _scorer(lpips, tof, border, device, lpips_weights), on_frames)


def evaluate_model(runner: Runner, gt: str | Path, *, degrade: str | None = "BD", lr_dir: str | Path | None = None,
                   save_outputs: str | Path | None = None, lpips: bool = True, tof: bool = True, border: int = 8,
                   device: str = "cpu", lpips_weights: str | Path | None = None,
                   on_frames: Callable[[int], None] | None = None) -> DatasetScores:
    """Run ``runner`` on every GT sequence (LR from ``lr_dir``, else GT degraded by ``degrade``) and score it."""
    from edgevsr.quality.evaluate import evaluate_model as run

    return run(runner, gt, lr_dir, None if lr_dir is not None else degrade,
               _scorer(lpips, tof, border, device, lpips_weights), save_outputs, on_frames)


def _path(value: str | Path | None) -> Path | None:
    return Path(value) if value is not None else None
