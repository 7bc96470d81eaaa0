"""A ground-truth clip and the LR input made from it: what every stage upscales and scores against GT.

Evaluation, the quantize quality check, the report, training validation and the
demo all need the same pair. Making it here, once, keeps them comparable: GT is
cropped to a multiple of the scale (centre crop to at most ``size`` first, when
given) and LR is its BD or BI degradation (:mod:`edgevsr.degrade`), rounded to
uint8 as a decoded LR video would be.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from edgevsr.sizes import Size


def fit_frame(frame: np.ndarray, scale: int, size: Size | None = None) -> np.ndarray:
    """``frame`` cropped to a multiple of ``scale``: centred within at most ``size`` (w, h), else top-left."""
    fh, fw = frame.shape[:2]
    if size is None:
        return frame[: fh // scale * scale, : fw // scale * scale]
    w, h = size
    h, w = min(h, fh) // scale * scale, min(w, fw) // scale * scale
    top, left = (fh - h) // 2, (fw - w) // 2
    return np.ascontiguousarray(frame[top: top + h, left: left + w])


def _degrader(mode: str):
    """degrade_frame, once ``mode`` is known to be one (imported here: importing this module needs no torch)."""
    from edgevsr.degrade import MODES, degrade_frame

    if mode not in MODES:
        raise EdgeVSRError(f"degradation {mode!r}: choose one of {', '.join(MODES)}")
    return degrade_frame


@dataclass
class PairedClip:
    """One clip's GT frames and the LR frames a model gets (HxWx3 uint8, LR = GT / ``scale``).

    Clips made by :meth:`from_frames` / :meth:`read` hold lists; :meth:`streamed` and :meth:`given_lr`
    hold one-pass iterators, for sequences too long to keep in memory.
    """

    name: str
    gt: Sequence[np.ndarray] | Iterable[np.ndarray]
    lr: Sequence[np.ndarray] | Iterable[np.ndarray]
    degradation: str | None  # "BD" | "BI"; None: the LR frames were given, not made
    scale: int = 4
    fps: float | None = None
    frame_names: list[str] | None = None  # of the GT, when read from files

    @classmethod
    def from_frames(cls, name: str, frames: Iterable[np.ndarray], degradation: str = "BD", scale: int = 4,
                    size: Size | None = None) -> PairedClip:
        """Frames in memory (e.g. a synthetic camera move) -> GT fitted to the scale, LR degraded from it."""
        degrade_frame = _degrader(degradation)
        gt = [fit_frame(f, scale, size) for f in frames]
        return cls(name, gt, [degrade_frame(g, degradation, scale) for g in gt], degradation, scale)

    @classmethod
    def read(cls, path: str | Path, name: str | None = None, degradation: str = "BD", scale: int = 4,
             max_frames: int | None = None, size: Size | None = None) -> PairedClip:
        """The first ``max_frames`` frames of a video or frame folder, paired (named after the file if no name)."""
        src = FrameSource(Path(path))
        clip = cls.from_frames(name or Path(path).stem, itertools.islice(iter(src), max_frames), degradation,
                               scale, size)
        clip.fps = src.info.fps
        clip.frame_names = list(src.info.names[: len(clip.gt)]) if src.info.names else None
        return clip

    @classmethod
    def streamed(cls, name: str, path: str | Path, degradation: str, scale: int = 4) -> PairedClip:
        """A whole video / frame folder, paired frame by frame as it is decoded (iterate ``gt`` and ``lr`` once,
        side by side)."""
        from edgevsr.degrade import check_degradable

        degrade_frame = _degrader(degradation)
        src = FrameSource(Path(path))
        check_degradable(src.info.width, src.info.height, str(path), scale)
        for_lr, for_gt = itertools.tee(fit_frame(f, scale) for f in src)
        lr: Iterator[np.ndarray] = (degrade_frame(f, degradation, scale) for f in for_lr)
        return cls(name, for_gt, lr, degradation, scale, src.info.fps, src.info.names)

    @classmethod
    def given_lr(cls, name: str, gt_path: str | Path, lr_path: str | Path, scale: int = 4) -> PairedClip:
        """GT and LR both read from files (LR made elsewhere, e.g. ``edgevsr degrade``); GT is not cropped."""
        src = FrameSource(Path(gt_path))
        return cls(name, iter(src), iter(FrameSource(Path(lr_path))), None, scale, src.info.fps, src.info.names)

    def tensors(self):
        """(GT, LR) as float (T, 3, H, W) tensors in [0, 1]; LR is degraded from the float GT and not rounded,
        as training feeds the model."""
        import torch

        from edgevsr.degrade import degrade_tensor

        if self.degradation is None:
            raise EdgeVSRError(f"{self.name}: tensors() makes LR from GT; this clip's LR was given")
        hr = torch.from_numpy(np.ascontiguousarray(np.stack(list(self.gt)))).permute(0, 3, 1, 2).float() / 255
        return hr, degrade_tensor(hr, self.degradation, self.scale)
