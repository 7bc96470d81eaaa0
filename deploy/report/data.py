"""The report's evaluation clips (GT -> BD x4 LR) and the frames speed cells are timed on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgevsr.deploy.report.config import Size, SweepConfig
from edgevsr.errors import EdgeVSRError
from edgevsr.quality.paired import PairedClip


def builtin_clip(frames: int, size: Size, mirrored: bool = False) -> list[np.ndarray]:
    """HR frames of a real photo under a smooth camera move (edgevsr.demo); mirrored = other content."""
    from edgevsr.demo import camera_move, sample_photo

    photo = sample_photo()
    if mirrored:
        photo = np.ascontiguousarray(photo[:, ::-1])
    return camera_move(photo, frames, size)


def eval_clips(cfg: SweepConfig, scale: int = 4) -> tuple[list[PairedClip], str]:
    """Evaluation clips (LR made by BD x4 degradation of the GT) and a description of them."""
    if cfg.eval_data is None:
        clips = [PairedClip.from_frames("photo-pan", builtin_clip(cfg.eval_frames, cfg.eval_size), "BD", scale,
                                        cfg.eval_size)]
        desc = (f"built-in clip: matplotlib's grace_hopper.jpg photo under a smooth camera move, "
                f"{cfg.eval_frames} frames {cfg.eval_size[0]}x{cfg.eval_size[1]} HR, BD x4")
    else:
        from edgevsr.quality.datasets import discover_sequences, gt_root

        seqs = discover_sequences(gt_root(Path(cfg.eval_data)))[: cfg.eval_sequences]
        clips = [PairedClip.read(path, name, "BD", scale, cfg.eval_frames, cfg.eval_size) for name, path in seqs]
        clips = [c for c in clips if len(c.gt) >= 2]
        if not clips:
            raise EdgeVSRError(f"{cfg.eval_data}: no sequence with at least 2 frames (--eval-data)")
        h, w = clips[0].gt[0].shape[:2]
        desc = (f"{cfg.eval_data}: {len(clips)} sequence(s), first {cfg.eval_frames} frames, centre crop "
                f"<= {cfg.eval_size[0]}x{cfg.eval_size[1]} (first: {w}x{h}), BD x4")
    return clips, desc


def clips_digest(clips: list[PairedClip]) -> str:
    h = hashlib.sha256()
    for c in clips:
        h.update(c.name.encode())
        for f in c.gt:
            h.update(f.tobytes())
    return h.hexdigest()[:16]


def speed_frames(size: Size, count: int) -> list[np.ndarray]:
    """LR frames of the real photo clip at exactly ``size`` (content does not change a dense net's cost)."""
    return builtin_clip(count, size)
