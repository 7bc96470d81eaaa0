"""The runner life cycle every backend shares (after Polygraphy's runners).

``activate()`` / ``infer()`` / ``deactivate()``, usable as a context manager.
Tensors passed between calls are the backend's *native* type (numpy for
onnxruntime, torch tensors for torch, device buffers for TensorRT) so that
recurrent state stays where inference runs; ``prepare`` and ``finish`` convert
uint8 frames in and out. Every runner records ``inference_time`` (seconds of
the last ``infer``, synchronised), so timings of all backends are comparable.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgevsr.models.spec import ModelSpec
from edgevsr.pixels import to_uint8


class Runner:
    name = "base"

    def __init__(self, spec: ModelSpec, precision: str = "fp32"):
        self.spec = spec
        self.precision = precision
        self.inference_time = 0.0
        self.active = False

    # life cycle ---------------------------------------------------------------------------------
    def activate(self) -> Runner:
        if not self.active:
            self.activate_impl()
            self.active = True
        return self

    def deactivate(self) -> None:
        if self.active:
            self.deactivate_impl()
            self.active = False

    def __enter__(self) -> Runner:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    def infer(self, *inputs: Any) -> Any:
        """Run the graph once on native tensors (in ``spec.input_names`` order); returns the native output."""
        if len(inputs) != len(self.spec.input_names):
            raise ValueError(f"{self.name}: expected inputs {self.spec.input_names}, got {len(inputs)}")
        t0 = time.perf_counter()
        out = self.infer_impl(*inputs)
        self.synchronize()
        self.inference_time = time.perf_counter() - t0
        return out

    # conversions (numpy defaults; device backends override) --------------------------------------
    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int) -> Any:
        """HxWx3 uint8 RGB -> 1x3x(H+pad_h)x(W+pad_w) float32 in [0, 1], reflect-padded."""
        x = frame.astype(np.float32) * (1.0 / 255.0)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < x.shape[0] and pad_w < x.shape[1] else "edge"
            x = np.pad(x, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def concat(self, tensors: list[Any]) -> Any:
        return np.concatenate(tensors, axis=1)

    def zeros_like_hr(self, lr: Any) -> Any:
        _, c, h, w = lr.shape
        s = self.spec.scale
        return np.zeros((1, c, h * s, w * s), dtype=np.float32)

    def finish(self, out: Any, height: int, width: int) -> np.ndarray:
        """1x3xHxW float -> HxWx3 uint8 (clipped, rounded), cropped to ``height`` x ``width``."""
        y = np.asarray(out, dtype=np.float32)[0, :, :height, :width]
        return to_uint8(y).transpose(1, 2, 0)

    # hooks for subclasses ----------------------------------------------------------------------
    def activate_impl(self) -> None:
        pass

    def deactivate_impl(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def infer_impl(self, *inputs: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} {self.precision}"


def to_numpy(x: Any) -> np.ndarray:
    """A native tensor (numpy, torch on any device) as float32 numpy."""
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


class DelegatingRunner(Runner):
    """Forwards the life cycle and every conversion to ``inner``: the one base of wrappers that record or time.

    Subclasses override only what they observe (usually ``infer``, calling ``super().infer``); ``inference_time``
    is the inner runner's own, so a wrapper never adds its bookkeeping to the timing it reports."""

    def __init__(self, inner: Runner):
        super().__init__(inner.spec, inner.precision)
        self.inner, self.name = inner, inner.name

    def activate_impl(self) -> None:
        self.inner.activate()

    def deactivate_impl(self) -> None:
        self.inner.deactivate()

    def infer(self, *inputs: Any) -> Any:
        out = self.inner.infer(*inputs)
        self.inference_time = self.inner.inference_time
        return out

    def synchronize(self) -> None:
        self.inner.synchronize()

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int) -> Any:
        return self.inner.prepare(frame, pad_h, pad_w)

    def concat(self, tensors: list[Any]) -> Any:
        return self.inner.concat(tensors)

    def zeros_like_hr(self, lr: Any) -> Any:
        return self.inner.zeros_like_hr(lr)

    def finish(self, out: Any, height: int, width: int) -> np.ndarray:
        return self.inner.finish(out, height, width)

    def describe(self) -> str:
        return self.inner.describe()
