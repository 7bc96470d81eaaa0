"""The report's evaluation clips (GT -> BD x4 LR) and the frames speed cells are timed on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevsr.deploy.report.config import (
    Size,
    SweepConfig,
)
from edgevsr.errors import EdgeVSRError


@dataclass
class Clip:
    name: str
    lr: list[np.ndarray]
    gt: list[np.ndarray]


def fit_frame(frame: np.ndarray, size: Size, scale: int) -> np.ndarray:
    """Centre crop to at most ``size`` (w, h), then to a multiple of ``scale`` (as the degradation needs)."""
    w, h = size
    fh, fw = frame.shape[:2]
    h, w = min(h, fh) // scale * scale, min(w, fw) // scale * scale
    top, left = (fh - h) // 2, (fw - w) // 2
    return np.ascontiguousarray(frame[top: top + h, left: left + w])


def builtin_clip(frames: int, size: Size, mirrored: bool = False) -> list[np.ndarray]:
    """HR frames of a real photo under a smooth camera move (edgevsr.demo); mirrored = other content."""
    from edgevsr.demo import camera_move, sample_photo

    photo = sample_photo()
    if mirrored:
        photo = np.ascontiguousarray(photo[:, ::-1])
    return camera_move(photo, frames, size)


def eval_clips(cfg: SweepConfig, scale: int = 4) -> tuple[list[Clip], str]:
    """Evaluation clips (LR made by BD x4 degradation of the GT) and a description of them."""
    from edgevsr.degrade import degrade_frame

    if cfg.eval_data is None:
        gts = [builtin_clip(cfg.eval_frames, cfg.eval_size)]
        names = ["photo-pan"]
        desc = (f"built-in clip: matplotlib's grace_hopper.jpg photo under a smooth camera move, "
                f"{cfg.eval_frames} frames {cfg.eval_size[0]}x{cfg.eval_size[1]} HR, BD x4")
    else:
        from edgevsr.io.frames import FrameSource
        from edgevsr.quality.evaluate import discover_sequences, gt_root

        seqs = discover_sequences(gt_root(Path(cfg.eval_data)))[: cfg.eval_sequences]
        gts, names = [], []
        for name, path in seqs:
            frames = []
            for f in FrameSource(path):
                frames.append(fit_frame(f, cfg.eval_size, scale))
                if len(frames) == cfg.eval_frames:
                    break
            if len(frames) >= 2:
                gts.append(frames)
                names.append(name)
        if not gts:
            raise EdgeVSRError(f"{cfg.eval_data}: no sequence with at least 2 frames (--eval-data)")
        h, w = gts[0][0].shape[:2]
        desc = (f"{cfg.eval_data}: {len(gts)} sequence(s), first {cfg.eval_frames} frames, centre crop "
                f"<= {cfg.eval_size[0]}x{cfg.eval_size[1]} (first: {w}x{h}), BD x4")
    clips = [Clip(n, [degrade_frame(g, "BD", scale) for g in frames], frames) for n, frames in zip(names, gts)]
    return clips, desc


def clips_digest(clips: list[Clip]) -> str:
    h = hashlib.sha256()
    for c in clips:
        h.update(c.name.encode())
        for f in c.gt:
            h.update(f.tobytes())
    return h.hexdigest()[:16]


def speed_frames(size: Size, count: int) -> list[np.ndarray]:
    """LR frames of the real photo clip at exactly ``size`` (content does not change a dense net's cost)."""
    return builtin_clip(count, size)
