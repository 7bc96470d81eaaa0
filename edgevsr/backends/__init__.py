"""One runner interface for torch, onnxruntime, tensorrt and opencv (see :mod:`edgevsr.backends.base`).

Layout (after Polygraphy's ``backend/<name>/``): ``<name>/loader.py`` obtains what a backend runs,
``<name>/runner.py`` runs it; :mod:`edgevsr.backends.registry` maps a backend name to its loader.
"""

from __future__ import annotations

from edgevsr.backends.base import DelegatingRunner, Runner
from edgevsr.backends.registry import (
    LOADERS,
    OnnxRuntimeOptions,
    OpenCVOptions,
    RunnerConfig,
    TensorRTOptions,
    TorchOptions,
    make_runner,
    runner_config,
)

BACKENDS = tuple(LOADERS)

__all__ = ["BACKENDS", "DelegatingRunner", "OnnxRuntimeOptions", "OpenCVOptions", "Runner", "RunnerConfig",
           "TensorRTOptions", "TorchOptions", "make_runner", "runner_config"]
