"""One runner interface for torch, onnxruntime, tensorrt and opencv (see :mod:`edgevsr.backends.base`).

Layout (after Polygraphy's ``backend/<name>/``): ``<name>/loader.py`` obtains what a backend runs,
``<name>/runner.py`` runs it; :mod:`edgevsr.backends.registry` maps a backend name to its loader.
The names below are imported on first use, so the CLI's option definitions can read the registry's
backend names (``--backend``'s help) without loading numpy or torch.
"""

from __future__ import annotations

import importlib

_PUBLIC = {"DelegatingRunner": "base", "Runner": "base", "LOADERS": "registry", "OnnxRuntimeOptions": "registry",
           "OpenCVOptions": "registry", "RunnerConfig": "registry", "TensorRTOptions": "registry",
           "TorchOptions": "registry", "make_runner": "registry", "runner_config": "registry"}

__all__ = ["BACKENDS", "DelegatingRunner", "OnnxRuntimeOptions", "OpenCVOptions", "Runner", "RunnerConfig",
           "TensorRTOptions", "TorchOptions", "make_runner", "runner_config"]


def __getattr__(name: str):
    if name == "BACKENDS":
        value = tuple(importlib.import_module("edgevsr.backends.registry").LOADERS)
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(f"edgevsr.backends.{_PUBLIC[name]}"), name)
    elif name in ("base", "registry"):
        value = importlib.import_module(f"edgevsr.backends.{name}")
    else:
        raise AttributeError(f"module 'edgevsr.backends' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
