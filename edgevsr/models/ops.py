"""Tensor operations shared by the VSR models; all export to ONNX (opset >= 17) and TensorRT."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def backward_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `x` at (pixel + flow): bilinear, border padding, flow in pixels (channel 0 = dx)."""
    _, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    gx = (xs + flow[:, 0]) * (2.0 / (w - 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / (h - 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def space_to_depth(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Inverse pixel shuffle in TecoGAN's channel order (so public checkpoints load unchanged)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // scale, scale, w // scale, scale)
    x = x.permute(0, 3, 5, 1, 2, 4)
    return x.reshape(n, scale * scale * c, h // scale, w // scale)


def bicubic_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic (a = -0.75, half-pixel centres): the same as ONNX Resize cubic."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad H and W at the bottom/right to a multiple; returns the padded tensor and the pads."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, ph, pw
