"""LR inputs from ground truth: BD (Gaussian blur sigma 1.5, 9x9, keep every 4th pixel) and BI (bicubic 1/4).

The module is callable: ``edgevsr.degrade(gt, lr, mode="BD")`` runs :func:`degrade_clip`, as ``edgevsr degrade``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgevsr.callable_module import make_callable

MODES = ("BD", "BI")


def gaussian_kernel(size: int = 9, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(ax**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def degrade_tensor(hr: torch.Tensor, mode: str = "BD", scale: int = 4) -> torch.Tensor:
    """(N, C, H, W) float in [0, 1] -> LR; used by training (on the fly) and by eval."""
    if mode == "BD":
        k = torch.from_numpy(gaussian_kernel()).to(hr)[None, None].repeat(hr.shape[1], 1, 1, 1)
        pad = k.shape[-1] // 2
        blurred = F.conv2d(F.pad(hr, (pad,) * 4, mode="reflect"), k, groups=hr.shape[1])
        return blurred[..., ::scale, ::scale]
    if mode == "BI":
        h, w = hr.shape[-2:]
        return F.interpolate(hr, size=(h // scale, w // scale), mode="bicubic", align_corners=False,
                             antialias=True).clamp(0, 1)
    raise ValueError(f"unknown degradation {mode!r}; choose BD or BI")


def degrade_frame(hr: np.ndarray, mode: str = "BD", scale: int = 4) -> np.ndarray:
    """HxWx3 uint8 -> (H/4)x(W/4)x3 uint8 (H, W cropped to multiples of the scale first)."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    t = torch.from_numpy(np.ascontiguousarray(hr[:h, :w])).permute(2, 0, 1)[None].float() / 255
    lr = degrade_tensor(t, mode, scale)[0].permute(1, 2, 0).numpy()
    return np.clip(lr * 255 + 0.5, 0, 255).astype(np.uint8)


def degrade_clip(gt: str | Path, lr: str | Path, mode: str = "BD",
                 on_frames: Callable[[str, int, int | None], None] | None = None) -> list[Path]:
    """Degrade a GT video / frame folder, or every ``<seq>/`` of a dataset folder, to LR frame folders.

    Returns the LR folders written; ``on_frames(sequence, frames done, total or None)`` reports progress.
    """
    from edgevsr.errors import EdgeVSRError
    from edgevsr.io.frames import IMAGE_EXTS, FrameSource
    from edgevsr.io.writers import FrameSink

    gt, lr = Path(gt), Path(lr)
    if mode not in MODES:
        raise EdgeVSRError(f"--mode {mode}: choose one of {', '.join(MODES)}")
    if not gt.exists():
        raise EdgeVSRError(f"{gt}: no such file or folder")
    # A folder of sequence folders (DATASET/GT/<seq>/) degrades sequence by sequence.
    seqs = sorted(p for p in gt.iterdir() if p.is_dir()) if gt.is_dir() else []
    has_images = gt.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in gt.iterdir())
    jobs = [(s, lr / s.name) for s in seqs] if seqs and not has_images else [(gt, lr)]
    if len(jobs) > 1:
        lr.mkdir(parents=True, exist_ok=True)
    for src_path, dst in jobs:
        src = FrameSource(src_path)
        with FrameSink(dst, fps=src.info.fps, names=src.info.names) as sink:
            for frame in src:
                sink.write(degrade_frame(frame, mode))
                if on_frames is not None:
                    on_frames(src_path.name, sink.count, src.info.frame_count)
    return [dst for _, dst in jobs]


make_callable(__name__, "degrade_clip")
