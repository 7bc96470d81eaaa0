"""Calibration data: real frames streamed through the model's own loop, recorded as graph inputs.

A recurrent step's ``hr_prev`` input is the model's previous *output*: calibrating
on zeros or on random tensors gives activation ranges the deployed model never
sees. So we run the FP32 model exactly as deployment does
(:class:`edgevsr.stream.FrameUpscaler`: padding, state, windows) and record every
``infer`` call's inputs. Those recorded steps feed range calibration, the
sensitivity search and the quality checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import DelegatingRunner, Runner, to_numpy
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource

MIN_CALIB_FRAMES = 2  # a recurrent step needs a previous frame for a realistic hr_prev


def center_crop(frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    fh, fw = frame.shape[:2]
    top, left = (fh - h) // 2, (fw - w) // 2
    return np.ascontiguousarray(frame[top: top + h, left: left + w])


def read_calib_frames(path: str | Path, max_frames: int, shape: tuple[int, int] | None = None,
                      min_frames: int = MIN_CALIB_FRAMES) -> list[np.ndarray]:
    """Up to ``max_frames`` consecutive RGB frames of a video / frame folder, center-cropped to ``shape``.

    Errors name the file: empty folder, frames of mixed sizes (raised by FrameSource),
    too few frames, frames smaller than ``shape``.
    """
    path = Path(path)
    if max_frames < min_frames:
        raise EdgeVSRError(f"--calib-frames {max_frames}: need at least {min_frames}")
    src = FrameSource(path)
    frames = list(islice(iter(src), max_frames))
    if len(frames) < min_frames:
        raise EdgeVSRError(f"{path}: {len(frames)} frame(s); calibration needs at least {min_frames} "
                           "consecutive frames of one clip")
    if shape is not None:
        h, w = shape
        if frames[0].shape[0] < h or frames[0].shape[1] < w:
            raise EdgeVSRError(f"{path}: frames are {frames[0].shape[1]}x{frames[0].shape[0]}, "
                               f"smaller than the calibration shape {w}x{h}")
        frames = [center_crop(f, shape) for f in frames]
    return frames


class InputRecordingRunner(DelegatingRunner):
    """Runs ``inner`` and keeps a float32 numpy copy of the inputs of every ``infer`` call (the graph's feeds).

    Conversions stay numpy (the base Runner's) whatever the inner backend, so the recorded steps are exactly
    the tensors an ONNX Runtime session is fed; outputs come back as numpy for the same reason."""

    prepare, concat, zeros_like_hr, finish = Runner.prepare, Runner.concat, Runner.zeros_like_hr, Runner.finish

    def __init__(self, inner: Runner):
        super().__init__(inner)
        self.steps: list[tuple[np.ndarray, ...]] = []

    def infer(self, *inputs: Any) -> np.ndarray:
        self.steps.append(tuple(np.array(x, dtype=np.float32) for x in inputs))
        return to_numpy(super().infer(*inputs))


def record_steps(runner: Runner, frames: Iterable[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """The graph inputs of every step when ``runner`` upscales ``frames`` as one clip (in order)."""
    from edgevsr.stream import FrameUpscaler

    rec = InputRecordingRunner(runner)
    with rec:
        for _ in FrameUpscaler(rec).run(frames):
            pass
    return rec.steps


def feeds(steps: list[tuple[np.ndarray, ...]], names: list[str] | tuple[str, ...]) -> Iterator[dict[str, np.ndarray]]:
    """Steps as ONNX Runtime input dicts."""
    for step in steps:
        yield dict(zip(names, step))
