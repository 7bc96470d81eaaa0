"""One runner interface for torch, onnxruntime and tensorrt (see :mod:`edgevsr.backends.base`)."""

from __future__ import annotations

from edgevsr.backends.base import Runner

BACKENDS = ("torch", "onnxruntime", "tensorrt")

__all__ = ["BACKENDS", "Runner"]
