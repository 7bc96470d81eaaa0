"""Build a runner from a :class:`RunnerConfig`: the one place the CLI, the report and the API get runners from.

Each backend is a folder ``edgevsr/backends/<name>/`` whose ``loader.load(cfg)`` obtains the thing it runs
(weights, an ONNX Runtime session, a TensorRT engine) and returns its runner. A loader module is imported
only when its backend is asked for, so torch, onnxruntime and TensorRT stay optional for each other.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError

DEFAULT_MODEL = "egvsr"  # what the torch backend runs when no model is named

LOADERS = {  # backend name -> module with ``load(cfg) -> (runner, source)``
    "torch": "edgevsr.backends.torch.loader",
    "onnxruntime": "edgevsr.backends.onnxruntime.loader",
    "tensorrt": "edgevsr.backends.tensorrt.loader",
    "opencv": "edgevsr.backends.opencv.loader",
}


@dataclass
class RunnerConfig:
    model: str | None = None  # None: DEFAULT_MODEL (torch), or whatever the ONNX / engine holds
    weights: str | None = None
    backend: str = "torch"
    device: str = "cpu"
    precision: str | None = None  # None: fp32 (torch), or what the ONNX / engine carries
    onnx: Path | None = None  # an exported/quantized ONNX file (onnxruntime) or engine (tensorrt)
    threads: int | None = None  # onnxruntime: intra-op threads of the session (None: ONNX Runtime chooses)
    allow_random: bool = False
    cuda_graph: bool = False  # tensorrt / torch on CUDA: replay each step as a captured CUDA graph
    layer_timing: bool = False  # tensorrt: per-layer times (IProfiler)
    compile: bool = False  # torch: torch.compile (with CUDA graphs on GPU)
    channels_last: bool = False  # torch: NHWC memory format (tensor-core friendly on GPU)


DEVICES = ("cpu", "cuda")


def check_device(device: str) -> None:
    """``cpu``, ``cuda`` or ``cuda:N``; anything else is one line, before torch sees it."""
    base, _, index = device.partition(":")
    if base not in DEVICES or (index and not index.isdigit()) or (base == "cpu" and index):
        raise EdgeVSRError(f"--device {device!r}: choose cpu or cuda (cuda:N for the N-th GPU)")


ONNX_SUFFIXES = {".onnx": "onnxruntime", ".engine": "tensorrt", ".plan": "tensorrt", ".trt": "tensorrt"}


def backend_for(cfg: RunnerConfig) -> RunnerConfig:
    """``--onnx FILE`` with the default torch backend: the backend the file needs (torch cannot run it, and
    running the shipped weights instead would silently ignore the file); an unknown file type is refused."""
    if cfg.onnx is None or cfg.backend != "torch":
        return cfg
    backend = ONNX_SUFFIXES.get(Path(cfg.onnx).suffix.lower())
    if backend is None:
        raise EdgeVSRError(f"--onnx {cfg.onnx}: expected an .onnx file (onnxruntime) or a TensorRT .engine/.plan; "
                           "name the backend with --backend")
    from dataclasses import replace

    return replace(cfg, backend=backend)


def make_runner(cfg: RunnerConfig) -> tuple[Runner, str]:
    """Returns the runner and a one-line description of the weights it runs."""
    check_device(cfg.device)
    cfg = backend_for(cfg)
    if cfg.precision == "fp16" and cfg.device == "cpu" and cfg.backend == "torch":
        import warnings

        warnings.warn("--fp16 on the CPU is emulated by PyTorch (~50x slower than FP32); use it on a GPU",
                      stacklevel=2)
    module = LOADERS.get(cfg.backend)
    if module is None:
        raise EdgeVSRError(f"unknown backend {cfg.backend!r}; choose {', '.join(LOADERS)}")
    return importlib.import_module(module).load(cfg)


def same_precision(asked: str, carried: str) -> bool:
    """A "mixed" file is INT8 with some layers kept in float: asking for int8 matches it."""
    return asked == carried or (asked == "int8" and carried == "mixed")


def check_request(cfg: RunnerConfig, model: str, precision: str, source: str | Path) -> None:
    """Refuse a ``cfg.model`` / ``cfg.precision`` that contradicts what ``source`` (ONNX, engine) holds.

    Runs would otherwise be labelled with the asked-for model or precision while running another."""
    if cfg.model is not None and cfg.model != model:
        raise EdgeVSRError(f"{source}: holds model {model!r}, not --model {cfg.model!r}; drop --model or pass "
                           f"an export of {cfg.model}")
    if cfg.precision is not None and not same_precision(cfg.precision, precision):
        raise EdgeVSRError(f"{source}: is a {precision} model, not --precision {cfg.precision}; drop the precision "
                           f"option or pass a {cfg.precision} export")
