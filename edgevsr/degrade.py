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
from edgevsr.errors import EdgeVSRError
from edgevsr.pixels import to_uint8

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


MIN_SIDE = 8  # after cropping to a multiple of 4 the 9x9 blur's reflection padding needs more than 4 pixels


def check_degradable(width: int, height: int, what: str, scale: int = 4) -> None:
    """Frames too small to degrade are one line naming the input (not a torch padding error)."""
    if width < max(MIN_SIDE, 2 * scale) or height < max(MIN_SIDE, 2 * scale):
        raise EdgeVSRError(f"{what}: frames are {width}x{height}; making x{scale} LR frames needs at least "
                           f"{max(MIN_SIDE, 2 * scale)}x{max(MIN_SIDE, 2 * scale)}")


def degrade_frame(hr: np.ndarray, mode: str = "BD", scale: int = 4) -> np.ndarray:
    """HxWx3 uint8 -> (H/4)x(W/4)x3 uint8 (H, W cropped to multiples of the scale first)."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    t = torch.from_numpy(np.ascontiguousarray(hr[:h, :w])).permute(2, 0, 1)[None].float() / 255
    lr = degrade_tensor(t, mode, scale)[0].permute(1, 2, 0).numpy()
    return to_uint8(lr)


def degrade_clip(gt: str | Path, lr: str | Path, mode: str = "BD",
                 on_frames: Callable[[str, int, int | None], None] | None = None,
                 overwrite: bool = False) -> list[Path]:
    """Degrade a GT video / frame folder, or every ``<seq>/`` of a dataset folder, to LR frame folders.

    Returns the LR folders written; ``on_frames(sequence, frames done, total or None)`` reports progress.
    A dataset is written into one temp folder renamed onto ``lr`` when every sequence is done; ``lr`` must
    not be, hold or sit inside ``gt``, and an existing non-empty ``lr`` needs ``overwrite``.
    """
    from edgevsr.io.atomic import atomic_path
    from edgevsr.io.frames import IMAGE_EXTS, FrameSource
    from edgevsr.io.writers import FrameSink, check_sink

    gt, lr = Path(gt), Path(lr)
    if mode not in MODES:
        raise EdgeVSRError(f"--mode {mode}: choose one of {', '.join(MODES)}")
    if not gt.exists():
        raise EdgeVSRError(f"{gt}: no such file or folder")
    # A folder of sequence folders (DATASET/GT/<seq>/) degrades sequence by sequence.
    seqs = sorted(p for p in gt.iterdir() if p.is_dir()) if gt.is_dir() else []
    has_images = gt.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in gt.iterdir())
    names = [s.name for s in seqs] if seqs and not has_images else None
    check_sink(lr, inputs=[gt], overwrite=overwrite, frames=None if names else FrameSource(gt).info.frame_count)

    def degrade_one(src_path: Path, dst: Path) -> None:
        src = FrameSource(src_path)
        check_degradable(src.info.width, src.info.height, str(src_path))
        with FrameSink(dst, fps=src.info.fps, names=src.info.names, overwrite=overwrite, inputs=[gt]) as sink:
            for frame in src:
                sink.write(degrade_frame(frame, mode))
                if on_frames is not None:
                    on_frames(src_path.name, sink.count, src.info.frame_count)

    if names is None:
        degrade_one(gt, lr)
        return [lr]
    with atomic_path(lr, is_dir=True, overwrite=overwrite, inputs=[gt]) as tmp:
        for name in names:
            degrade_one(gt / name, tmp / name)
    return [lr / name for name in names]


make_callable(__name__, "degrade_clip")
