"""Periodic validation on held-out clips: PSNR-Y against ground truth, next to bicubic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgevsr.data import load_clip
from edgevsr.degrade import degrade_tensor
from edgevsr.models.base import VSRModel
from edgevsr.models.ops import bicubic_upsample


def to_y(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma on the 16..235 scale from RGB in [0, 1] quantised to 8 bits (as the TecoGAN eval code)."""
    q = (rgb.clamp(0, 1) * 255).round() / 255
    r, g, b = q.unbind(-3)
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def psnr_y(out: torch.Tensor, gt: torch.Tensor, border: int = 8) -> float:
    """Mean per-frame PSNR-Y of ``(T, 3, H, W)`` tensors, ``border`` pixels cropped."""
    y1, y2 = to_y(out), to_y(gt)
    if border:
        y1, y2 = y1[..., border:-border, border:-border], y2[..., border:-border, border:-border]
    mse = ((y1 - y2) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(255.0**2 / mse)).mean())


@dataclass
class ValClip:
    name: str
    hr: torch.Tensor  # (T, 3, H, W), H and W multiples of 4
    lr: torch.Tensor  # (T, 3, H/4, W/4)

    @property
    def bicubic(self) -> torch.Tensor:
        return bicubic_upsample(self.lr, 4)


def load_val_clips(root: Path, names: list[str], frames: int, degradation: str = "BD") -> list[ValClip]:
    clips = []
    for name in names:
        arr = load_clip(root, name, limit=frames)
        h, w = arr.shape[1] // 4 * 4, arr.shape[2] // 4 * 4
        hr = torch.from_numpy(np.ascontiguousarray(arr[:, :h, :w])).permute(0, 3, 1, 2).float() / 255
        clips.append(ValClip(name, hr, degrade_tensor(hr, degradation)))
    return clips


@torch.no_grad()
def evaluate(model: VSRModel, clips: list[ValClip], device: torch.device, extra=None) -> dict:
    """PSNR-Y of the model and of bicubic, averaged over clips; ``extra(out, gt)`` adds metrics (LPIPS, tOF)."""
    was_training = model.training
    model.eval()
    rows = []
    for c in clips:
        out = model.forward_sequence(c.lr[None].to(device))[0].float().cpu().clamp(0, 1)
        row = {"psnr_y": psnr_y(out, c.hr), "psnr_y_bicubic": psnr_y(c.bicubic.clamp(0, 1), c.hr)}
        if extra is not None:
            row.update(extra(out, c.hr))
        rows.append(row)
    model.train(was_training)
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
