"""edgevsr: real-time x4 video super-resolution from PyTorch to TensorRT.

The public API (docs/api.md) is imported on first use (PEP 562), so ``import edgevsr`` loads
neither torch nor ONNX Runtime::

    import edgevsr
    edgevsr.upscale("in.mp4", "out.mp4", model="egvsr")
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> "module" (the callable module / subpackage itself) or "module:attribute"
_PUBLIC = {
    "upscale": "edgevsr.upscale",
    "degrade": "edgevsr.degrade",
    "quantize": "edgevsr.quantize",
    "build_engine": "edgevsr.api:build_engine",
    "profile": "edgevsr.api:profile",
    "evaluate": "edgevsr.api:evaluate",
    "evaluate_model": "edgevsr.api:evaluate_model",
    "load_model": "edgevsr.api:load_model",
    "make_runner": "edgevsr.api:make_runner",
    "runner_config": "edgevsr.backends.registry:runner_config",
    "run": "edgevsr.edge.live:run",
    "run_batch": "edgevsr.batch:run_batch",
    "FrameUpscaler": "edgevsr.stream:FrameUpscaler",
    "QualityBudget": "edgevsr.quality.gate:QualityBudget",
    "Size": "edgevsr.sizes:Size",
    "parse_size": "edgevsr.sizes:parse_size",
    "EdgeVSRError": "edgevsr.errors:EdgeVSRError",
}
# subpackages and modules reachable as attributes without an explicit import (edgevsr.stream.FrameUpscaler)
_SUBMODULES = ("api", "stream", "sizes", "errors", "io", "models", "weights", "backends", "quality", "data",
               "train", "edge", "calibration", "deploy", "batch")

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    target = _PUBLIC.get(name)
    if target is not None:
        module, _, attr = target.partition(":")
        value = importlib.import_module(module)
        value = getattr(value, attr) if attr else value
    elif name in _SUBMODULES:
        value = importlib.import_module(f"edgevsr.{name}")
    else:
        raise AttributeError(f"module 'edgevsr' has no attribute {name!r}")
    globals()[name] = value  # next time a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, *_SUBMODULES])
