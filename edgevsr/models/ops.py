"""Tensor operations shared by the VSR models; all export to ONNX (opset >= 17) and TensorRT."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def backward_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `x` at (pixel + flow): bilinear, border padding, flow in pixels (channel 0 = dx).

    The grid and the sampling always run in FP32, whatever ``x.dtype``: FP16 pixel
    coordinates above 2048 are 2 px apart, so a half grid is ~1.9 px off at HR width
    3840 and the recurrence compounds it. The check is static, so an FP32 export
    carries no Cast nodes; the result comes back in ``x.dtype``.
    """
    dtype = x.dtype
    x, flow = x.float(), flow.float()
    _, _, h, w = x.shape
    ys = torch.arange(h, dtype=torch.float32, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32, device=x.device).view(1, 1, w)
    gx = (xs + flow[:, 0]) * (2.0 / (w - 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / (h - 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out if dtype == torch.float32 else out.to(dtype)


def space_to_depth(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Inverse pixel shuffle in TecoGAN's channel order (so public checkpoints load unchanged)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // scale, scale, w // scale, scale)
    x = x.permute(0, 3, 5, 1, 2, 4)
    return x.reshape(n, scale * scale * c, h // scale, w // scale)


def bicubic_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic (a = -0.75, half-pixel centres): the same as ONNX Resize cubic."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def _cubic_phase_weights(scale: int, a: float = -0.75) -> torch.Tensor:
    """Keys cubic weights for LR offsets (-1, 0, 1, 2) at fractional positions k / scale, k = 0..scale-1."""
    rows = []
    for k in range(scale):
        s = k / scale
        d = torch.tensor([1 + s, s, 1 - s, 2 - s], dtype=torch.float64)
        near = ((a + 2) * d**3 - (a + 3) * d**2 + 1) * (d <= 1)
        far = (a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a) * (d > 1) * (d < 2)
        rows.append(near + far)
    return torch.stack(rows)  # (scale, 4)


def aligned_bicubic_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic x``scale`` whose HR pixel ``scale * i`` sits exactly on LR pixel ``i`` (TecoGAN's upsampler).

    BD degradation keeps every 4th pixel of the blurred frame, so LR pixel i *is*
    HR pixel 4i; the usual half-pixel-centred resize is 1.5 HR pixels off on
    such inputs. This is the residual and flow upsampler of TecoGAN/EGVSR, built
    from a grouped 4x4 convolution and PixelShuffle, which export to ONNX and
    TensorRT as plain convolutions (INT8-friendly, unlike cubic Resize).
    """
    n, c, h, w = x.shape
    wk = _cubic_phase_weights(scale)
    kernels = torch.einsum("ia,jb->ijab", wk, wk).reshape(scale * scale, 1, 4, 4).to(x)
    kernels = kernels.repeat(c, 1, 1, 1)  # channel c*s*s + i*s + j -> phase (i, j) of colour c
    out = F.conv2d(F.pad(x, (1, 2, 1, 2), mode="replicate"), kernels, groups=c)
    return F.pixel_shuffle(out, scale)


def upsample_flow(lr_flow: torch.Tensor, scale: int) -> torch.Tensor:
    """An LR flow as an HR flow: upsampled on BD's grid and its vectors scaled to HR pixels (both, or the warp is
    ``scale`` times too short)."""
    return scale * aligned_bicubic_upsample(lr_flow, scale)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad H and W at the bottom/right to a multiple; returns the padded tensor and the pads."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, ph, pw
