"""Streaming upscaling shared by every backend: padding, recurrent state, frame windows, uint8 in/out."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.scene import is_scene_cut, thumbnail


class FrameUpscaler:
    """Feed LR frames one at a time, get HR frames out in order.

    Recurrent models carry (lr_prev, hr_prev) between calls; the first frame of a
    clip (or after :meth:`reset`, e.g. at a scene cut) uses itself as lr_prev and
    zeros as hr_prev. Windowed models see 2r+1 frames centred on the output
    frame; at clip ends the window replicates the first / last frame, so the
    output lags the input by r frames and :meth:`flush` drains it.
    """

    def __init__(self, runner: Runner):
        self.runner = runner
        self.spec = runner.spec
        self.reset()

    def reset(self) -> None:
        self._lr_prev: Any = None
        self._hr_prev: Any = None
        self._window: deque = deque()
        self._pending = 0  # frames pushed whose output is not out yet (windowed)
        self._size: tuple[int, int] | None = None

    def _prepare(self, frame: np.ndarray) -> Any:
        h, w = frame.shape[:2]
        m = self.spec.size_multiple
        if self._size is None:
            self._size = (h, w)
        return self.runner.prepare(frame, (-h) % m, (-w) % m)

    def _finish(self, out: Any) -> np.ndarray:
        h, w = self._size
        s = self.spec.scale
        hr = self.runner.finish(out, h * s, w * s)
        if hr.shape[:2] != (h * s, w * s):  # e.g. a foreign ONNX carrying copied edgevsr metadata
            from edgevsr.errors import EdgeVSRError

            raise EdgeVSRError(f"{self.spec.name} ({self.runner.describe()}): the model made a {hr.shape[1]}x"
                               f"{hr.shape[0]} frame from {w}x{h}, but its metadata says x{s} "
                               f"({w * s}x{h * s}); the graph does not match its metadata")
        return hr

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        """Upscale one frame; returns the HR frames now ready (one, or none while a window fills)."""
        if self._size is not None and frame.shape[:2] != self._size:
            self.reset()
        lr = self._prepare(frame)
        kind = self.spec.kind
        if kind == "recurrent":
            if self._hr_prev is None:
                self._lr_prev, self._hr_prev = lr, self.runner.zeros_like_hr(lr)
            self._hr_prev = self.runner.infer(lr, self._lr_prev, self._hr_prev)
            self._lr_prev = lr
            return [self._finish(self._hr_prev)]
        if kind == "single":
            return [self._finish(self.runner.infer(lr))]
        r = self.spec.window // 2
        if not self._window:
            self._window.extend([lr] * r)  # replicate the first frame backwards
        self._window.append(lr)
        self._pending += 1
        if len(self._window) < 2 * r + 1:
            return []
        out = self.runner.infer(self.runner.concat(list(self._window)))
        self._window.popleft()
        self._pending -= 1
        return [self._finish(out)]

    def flush(self) -> list[np.ndarray]:
        """Outputs still owed at the end of a clip (windowed models; replicate the last frame forwards)."""
        outs = []
        r = self.spec.window // 2
        while self.spec.kind == "windowed" and self._pending > 0:
            while len(self._window) < 2 * r + 1:
                self._window.append(self._window[-1])
            out = self.runner.infer(self.runner.concat(list(self._window)))
            self._window.popleft()
            self._pending -= 1
            outs.append(self._finish(out))
        return outs

    def run(self, frames: Iterable[np.ndarray], scene_cut: float = 0.0) -> Iterator[np.ndarray]:
        """All outputs of ``frames``; with ``scene_cut`` > 0 the state resets at each detected cut."""
        prev = None
        for frame in frames:
            if scene_cut > 0:
                thumb = thumbnail(frame)
                if is_scene_cut(prev, thumb, scene_cut):
                    yield from self.flush()
                    self.reset()
                prev = thumb
            yield from self.push(frame)
        yield from self.flush()
