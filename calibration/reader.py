"""Calibration data: a reader protocol (as ONNX Runtime's ``CalibrationDataReader``) and the clip reader.

Every consumer of calibration data (range statistics, the precision search, the
quality checks) pulls feed dicts from a :class:`CalibrationDataReader`:
``get_next()`` returns one ``{input name: array}`` or ``None`` when done.
:class:`ClipReader` is the one edgevsr uses: real frames streamed through the
model's own loop, recorded as graph inputs.

A recurrent step's ``hr_prev`` input is the model's previous *output*: calibrating
on zeros or on random tensors gives activation ranges the deployed model never
sees. So we run the FP32 model exactly as deployment does
(:class:`edgevsr.stream.FrameUpscaler`: padding, state, windows) and record every
``infer`` call's inputs. Those recorded steps feed range calibration, the
sensitivity search and the quality checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from edgevsr.backends.base import DelegatingRunner, Runner, to_numpy
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource

MIN_CALIB_FRAMES = 2  # a recurrent step needs a previous frame for a realistic hr_prev
Step = tuple[np.ndarray, ...]  # one step's graph inputs, in the graph's input order


@runtime_checkable
class CalibrationDataReader(Protocol):
    """ONNX Runtime's calibration-data protocol: one feed dict per call, ``None`` when the data is exhausted."""

    def get_next(self) -> dict[str, np.ndarray] | None: ...


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


class ClipReader:
    """LR frames of one clip, read as the FP32 model's step inputs when it upscales them as deployed.

    The frames are read (and checked) at once, so bad data fails before a slow export; the steps are
    recorded when :meth:`bind` is given the FP32 model (an ONNX path), because a recurrent step's
    ``hr_prev`` is that model's previous output.
    """

    def __init__(self, frames: Sequence[np.ndarray], source: str = "frames"):
        self.frames = list(frames)
        self.source = source
        self._steps: list[Step] | None = None
        self._names: list[str] = []
        self._next = 0

    @classmethod
    def from_path(cls, path: str | Path, max_frames: int, shape: tuple[int, int] | None = None) -> ClipReader:
        """Up to ``max_frames`` consecutive frames of a video / frame folder (see :func:`read_calib_frames`)."""
        return cls(read_calib_frames(path, max_frames, shape), str(path))

    def bind(self, model: str | Path) -> ClipReader:
        """Record the steps of ``model`` (an ONNX file, run by ONNX Runtime) over the frames."""
        from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner

        with OnnxRuntimeRunner(model) as runner:
            self._names = list(runner.input_names)
            self._steps = record_steps(runner, self.frames)
        self._next = 0
        return self

    @property
    def steps(self) -> list[Step]:
        if self._steps is None:
            raise RuntimeError("ClipReader.bind(model) first: the steps are the model's own inputs")
        return self._steps

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self.steps):
            return None
        self._next += 1
        return dict(zip(self._names, self.steps[self._next - 1]))

    def rewind(self) -> None:
        self._next = 0


def read_steps(reader: CalibrationDataReader, names: Sequence[str]) -> list[Step]:
    """Every feed of ``reader`` as a step tuple in the order of ``names`` (a graph's inputs)."""
    out = []
    while (feed := reader.get_next()) is not None:
        missing = [n for n in names if n not in feed]
        if missing:
            raise EdgeVSRError(f"calibration data: feed lacks input(s) {', '.join(missing)} (have {', '.join(feed)})")
        out.append(tuple(np.asarray(feed[n], np.float32) for n in names))
    return out
