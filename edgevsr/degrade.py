"""LR inputs from ground truth: BD (Gaussian blur sigma 1.5, 9x9, keep every 4th pixel) and BI (bicubic 1/4)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

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
