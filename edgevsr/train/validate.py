"""Validation on held-out clips with the evaluation code's metrics (PSNR-Y, LPIPS, tOF), next to bicubic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgevsr.data import load_clip
from edgevsr.models.base import VSRModel
from edgevsr.models.ops import aligned_bicubic_upsample, bicubic_upsample
from edgevsr.quality.paired import PairedClip


@dataclass
class ValClip:
    name: str
    hr: torch.Tensor  # (T, 3, H, W), H and W multiples of 4
    lr: torch.Tensor  # (T, 3, H/4, W/4)

    @property
    def bicubic(self) -> torch.Tensor:
        """The conventional (half-pixel-centred) bicubic resize, as players and ffmpeg scale video."""
        return bicubic_upsample(self.lr, 4)

    @property
    def bicubic_bd(self) -> torch.Tensor:
        """Bicubic on BD's sampling grid: the stronger, fair baseline for BD inputs."""
        return aligned_bicubic_upsample(self.lr, 4)


def load_val_clips(root: Path, names: list[str], frames: int, degradation: str = "BD") -> list[ValClip]:
    clips = []
    for name in names:
        clip = PairedClip.from_frames(name, load_clip(root, name, limit=frames), degradation)
        clips.append(ValClip(name, *clip.tensors()))
    return clips


def _frames(x: torch.Tensor) -> list[np.ndarray]:
    return list((x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy())


def make_scorer(lpips: bool = True):
    """The evaluation code's scorer (TecoGAN definitions); LPIPS is left out when its weights are absent."""
    from edgevsr.errors import EdgeVSRError
    from edgevsr.quality.scorer import EvalOptions, Scorer

    scorer = Scorer(EvalOptions(ssim=False, lpips=lpips, tof=True))
    if lpips:
        try:
            scorer.lpips  # noqa: B018  (loads the weights now, not mid-run)
        except EdgeVSRError:
            scorer = Scorer(EvalOptions(ssim=False, lpips=False, tof=True))
    return scorer


KEPT = ("psnr_y", "lpips", "tof", "tlp100")


@torch.no_grad()
def evaluate(model: VSRModel, clips: list[ValClip], device: torch.device, scorer=None) -> dict:
    """Scores vs ground truth averaged over clips (psnr_y, lpips, tof, tlp100 of the model, ``_bicubic``,
    ``_bicubic_bd``), and per clip as ``psnr_y@clip``, ``psnr_y_bicubic_bd@clip``, ...: an average can hide one
    clip getting worse. Recurrent models with an FNet also get the warp-error diagnostic
    (:func:`edgevsr.train.flow_teacher.warp_errors`): ``warp_err``, ``warp_err_gt``, ``warp_err_zero``."""
    from edgevsr.train.flow_teacher import warp_errors

    scorer = scorer or make_scorer()
    was_training = model.training
    model.eval()
    rows = []
    for c in clips:
        out = model.forward_sequence(c.lr[None].to(device))[0].float().cpu()
        streams = {"out": _frames(out), "bicubic": _frames(c.bicubic), "bicubic_bd": _frames(c.bicubic_bd),
                   "gt": _frames(c.hr)}
        res = scorer.score_sequence(c.name, streams, [("out", "gt"), ("bicubic", "gt"), ("bicubic_bd", "gt")])
        row = {}
        for (a, _), seq in res.items():
            for k, v in seq.mean().items():
                if k in KEPT and v is not None:
                    row[k if a == "out" else f"{k}_{a}"] = v
        if c.hr.shape[0] > 1:
            row.update(warp_errors(model, c.lr.to(device), out.to(device), c.hr.to(device)))
        rows.append(row)
    model.train(was_training)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    per_clip = {f"{k}@{c.name}": r[k] for c, r in zip(clips, rows, strict=True) for k in r
                if not k.endswith("_bicubic")}
    return {**mean, **per_clip}
