"""Streaming upscaling shared by every backend: padding, recurrent state, frame windows, uint8/uint16 in and out.

:class:`FrameUpscaler` is also the one place that decides when the recurrent state restarts (a resize, dropped
frames, a scene cut), so `upscale`, `run`, `batch` and the Python API reset at the same frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

import edgevsr.checks as checks
from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError
from edgevsr.scene import is_scene_cut, thumbnail

EIGHT_BIT_RUNNERS = ("tensorrt", "opencv")  # runners whose engines take uint8 frames only


def keeps_depth(runner) -> bool:
    """Whether ``runner`` can run >8-bit frames at full depth (through :class:`HighDepthRunner`)."""
    return getattr(runner, "name", None) not in EIGHT_BIT_RUNNERS


class HighDepthRunner:
    """A runner seen through 16-bit frames: >8-bit sources go in as rgb48 and come out as rgb48, the model
    running in float in between, so 10-bit input is never squeezed through 8 bits."""

    def __init__(self, runner):
        if not keeps_depth(runner):
            raise EdgeVSRError(f"10-bit input needs --backend torch or onnxruntime (the {runner.name} runner "
                               "takes 8-bit frames only)")
        self._runner = runner

    def __getattr__(self, name):
        return getattr(self._runner, name)

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int):
        return self._runner.prepare(frame.astype(np.float32) * (255.0 / 65535.0), pad_h, pad_w)

    def finish(self, out, height: int, width: int) -> np.ndarray:
        y = out[0, :, :height, :width]
        y = y.detach().float().cpu().numpy() if hasattr(y, "detach") else np.asarray(y, dtype=np.float32)
        return (np.clip(y, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16).transpose(1, 2, 0)


def check_frame(frame: Any) -> None:
    """An HxWx3 uint8 (or uint16, deep video) RGB array; anything else is one clear error, not a torch one."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        raise EdgeVSRError(f"FrameUpscaler.push: expected an HxWx3 RGB frame, got {type(frame).__name__} of shape "
                           f"{shape}")
    if frame.dtype not in (np.uint8, np.uint16):
        raise EdgeVSRError(f"FrameUpscaler.push: expected uint8 (or uint16) samples, got {frame.dtype}; convert "
                           "first (float frames would be read as 0..255 or silently clipped)")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise EdgeVSRError(f"FrameUpscaler.push: empty frame {frame.shape}")


def _finite(out: Any) -> bool:
    """Whether a raw model output (torch tensor or numpy array) holds only finite values."""
    if hasattr(out, "detach"):
        import torch

        return bool(torch.isfinite(out).all())
    try:
        arr = np.asarray(out)
    except Exception:  # a device buffer we cannot look into cheaply: trust it
        return True
    return arr.dtype.kind != "f" or bool(np.isfinite(arr).all())


class FrameUpscaler:
    """Feed LR frames one at a time, get HR frames out in order.

    Recurrent models carry (lr_prev, hr_prev) between calls; the first frame of a
    clip (or after a reset) uses itself as lr_prev and zeros as hr_prev. Windowed
    models see 2r+1 frames centred on the output frame; at clip ends the window
    replicates the first / last frame, so the output lags the input by r frames
    and :meth:`flush` drains it.

    The state restarts, with the reason in :attr:`last_reset`, when the frame size
    changes ("resize"), when ``index`` skips frames ("drop": warping from a frame
    that is not the previous one ghosts) and, with ``scene_cut`` > 0, at a cut
    ("scene-cut"). Outputs still owed to the previous scene come out first.
    """

    def __init__(self, runner: Runner, scene_cut: float = 0.0):
        checks.scene_cut(scene_cut, "scene_cut")
        self.runner = runner
        self.spec = runner.spec
        self.scene_cut = scene_cut
        self.last_reset: str | None = None
        self._deep: HighDepthRunner | None = None
        self._index: int | None = None
        self._thumb: np.ndarray | None = None
        self._checked = False  # the first output is checked to be finite
        self.reset()

    def reset(self) -> None:
        self._lr_prev: Any = None
        self._hr_prev: Any = None
        self._window: deque = deque()
        self._pending = 0  # frames pushed whose output is not out yet (windowed)
        self._size: tuple[int, int] | None = None

    @property
    def _runner(self):
        return self._deep if self._deep is not None else self.runner

    def _prepare(self, frame: np.ndarray) -> Any:
        h, w = frame.shape[:2]
        m = self.spec.size_multiple
        if self._size is None:
            self._size = (h, w)
        return self._runner.prepare(frame, (-h) % m, (-w) % m)

    def _finish(self, out: Any) -> np.ndarray:
        h, w = self._size
        s = self.spec.scale
        if not self._checked:  # NaN/Inf weights (a diverged run, a broken export) would be written as black frames
            if not _finite(out):
                raise EdgeVSRError(f"{self.spec.name} ({self.runner.describe()}): the model's output is not finite "
                                   "(NaN or Inf): its weights are broken; nothing written")
            self._checked = True
        hr = self._runner.finish(out, h * s, w * s)
        if hr.shape[:2] != (h * s, w * s):  # e.g. a foreign ONNX carrying copied edgevsr metadata
            raise EdgeVSRError(f"{self.spec.name} ({self.runner.describe()}): the model made a {hr.shape[1]}x"
                               f"{hr.shape[0]} frame from {w}x{h}, but its metadata says x{s} "
                               f"({w * s}x{h * s}); the graph does not match its metadata")
        return hr

    def _reason(self, frame: np.ndarray, index: int | None) -> str | None:
        """Why the state must restart before ``frame`` (None: it goes on)."""
        thumb = thumbnail(frame) if self.scene_cut > 0 else None
        prev_index, prev_thumb = self._index, self._thumb
        self._index, self._thumb = index, thumb
        if self._size is not None and frame.shape[:2] != self._size:
            return "resize"
        if index is not None and prev_index is not None and index != prev_index + 1:
            return "drop"
        if thumb is not None and is_scene_cut(prev_thumb, thumb, self.scene_cut):
            return "scene-cut"
        return None

    def push(self, frame: np.ndarray, index: int | None = None) -> list[np.ndarray]:
        """Upscale one frame; returns the HR frames now ready (outputs owed to a previous scene first, then this
        frame's, or none while a window fills). ``index``: the frame's number in its source, to detect drops."""
        check_frame(frame)
        if (frame.dtype == np.uint16) != (self._deep is not None):
            self._deep = HighDepthRunner(self.runner) if frame.dtype == np.uint16 else None
        self.last_reset = self._reason(frame, index)
        owed: list[np.ndarray] = []
        if self.last_reset is not None:
            owed = self.flush()  # windowed models still owe the previous scene's last frames
            self.reset()
        return owed + self._push(frame)

    def _push(self, frame: np.ndarray) -> list[np.ndarray]:
        lr = self._prepare(frame)
        kind = self.spec.kind
        run = self._runner
        if kind == "recurrent":
            if self._hr_prev is None:
                self._lr_prev, self._hr_prev = lr, run.zeros_like_hr(lr)
            self._hr_prev = run.infer(lr, self._lr_prev, self._hr_prev)
            self._lr_prev = lr
            return [self._finish(self._hr_prev)]
        if kind == "single":
            return [self._finish(run.infer(lr))]
        r = self.spec.window // 2
        if not self._window:
            self._window.extend([lr] * r)  # replicate the first frame backwards
        self._window.append(lr)
        self._pending += 1
        if len(self._window) < 2 * r + 1:
            return []
        out = run.infer(run.concat(list(self._window)))
        self._window.popleft()
        self._pending -= 1
        return [self._finish(out)]

    def flush(self) -> list[np.ndarray]:
        """Outputs still owed at the end of a clip (windowed models; replicate the last frame forwards)."""
        outs = []
        r = self.spec.window // 2
        run = self._runner
        while self.spec.kind == "windowed" and self._pending > 0:
            while len(self._window) < 2 * r + 1:
                self._window.append(self._window[-1])
            out = run.infer(run.concat(list(self._window)))
            self._window.popleft()
            self._pending -= 1
            outs.append(self._finish(out))
        return outs

    def run(self, frames: Iterable[np.ndarray], scene_cut: float | None = None) -> Iterator[np.ndarray]:
        """All outputs of ``frames``; ``scene_cut`` (default: the constructor's) > 0 resets at each detected cut."""
        if scene_cut is not None:
            self.scene_cut = checks.scene_cut(scene_cut, "scene_cut")
        self._thumb = self._index = None  # a new clip: nothing to compare its first frame with
        for frame in frames:
            yield from self.push(frame)
        yield from self.flush()
