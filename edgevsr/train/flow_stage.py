"""Stage 0's driver in the training loop: FNet alone against the flow teacher (see :mod:`flow_pretrain`).

Like :class:`edgevsr.train.gan.GanStage` for stage 2, it owns what only its stage
needs (the cut margin, BatchNorm statistics and folding, flow validation, its
curve); the :class:`~edgevsr.train.trainer.Trainer` keeps the loop, checkpoints
and the optimizer.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from edgevsr.data import WindowSampler
from edgevsr.train.config import TrainConfig
from edgevsr.train.flow_pretrain import (
    add_batchnorm,
    clip_flow_epe,
    flow_step,
    fold_batchnorm,
    has_batchnorm,
    lr_pairs,
    precise_batchnorm,
)


def flow_margin(cfg: TrainConfig, scale: int) -> int:
    """HR pixels around each stage-0 crop, from which the previous frame is cut off-centre (0 in other stages)."""
    return cfg.flow_shift * scale if cfg.stage == 0 else 0


class FlowStage:
    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, sampler: WindowSampler, device: torch.device):
        self.cfg, self.model, self.sampler, self.device = cfg, model, sampler, device
        self.margin = flow_margin(cfg, model.scale)
        if cfg.flow_batchnorm:
            add_batchnorm(model.fnet)  # Trainer.load_checkpoint folds it again for a checkpoint past the fold

    @property
    def batchnorm(self) -> bool:
        return has_batchnorm(self.model.fnet)

    def fold(self) -> None:
        """Fold FNet's BatchNorm into its convolutions for good (the caller gives the plain FNet a new optimizer)."""
        self.model.fnet = fold_batchnorm(self.model.fnet).train()

    def fold_due(self, iteration: int) -> bool:
        until = self.cfg.flow_batchnorm_until
        return bool(until) and iteration >= until and self.batchnorm

    def pairs(self, iteration: int) -> torch.Tensor:
        """HR frame pairs ``(N, 2, 3, crop + 2 margin, ...)``, 1..flow_gap_max frames apart (one gap per batch)."""
        window, crop, batch = self.cfg.data.at(iteration)
        gap = int(torch.randint(1, self.cfg.flow_gap_max + 1, ()))
        return self.sampler.sample(batch, window, crop + 2 * self.margin)[:, [0, gap]]

    def loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, float]]:
        """L2 endpoint error to the (shifted) teacher flow on one batch of pairs."""
        hr = self.pairs(iteration).to(self.device)
        return flow_step(self.model.fnet, hr, self.cfg.data.degradation, self.model.scale, self.margin,
                         self.cfg.flow_teacher_preset, self.cfg.threads)

    def estimate_batchnorm(self, iteration: int, batches: int = 40) -> None:
        """Precise BatchNorm statistics over training-distribution batches; the training draws are left alone."""
        if not self.batchnorm:
            return
        state, rng = self.sampler.state(), torch.get_rng_state()
        precise_batchnorm(self.model.fnet, (
            tuple(x.to(self.device) for x in lr_pairs(self.pairs(iteration), self.cfg.data.degradation,
                                                      self.margin))
            for _ in range(batches)))
        self.sampler.set_state(state)
        torch.set_rng_state(rng)

    def validate(self, iteration: int, clips) -> dict:
        """FNet's endpoint error to the teacher on each validation clip (and zero flow's), mean as ``flow_epe``."""
        self.estimate_batchnorm(iteration)
        fnet = self.model.fnet
        fnet.eval()
        row: dict = {"iteration": iteration}
        for clip in clips:
            res = clip_flow_epe(fnet, clip.lr.to(self.device), clip.hr.to(self.device), self.model.scale,
                                self.model.size_multiple)
            row.update({f"{k}@{clip.name}": v for k, v in res.items()})
        fnet.train()
        per_clip = [row[f"flow_epe@{c.name}"] for c in clips]
        row["flow_epe"] = sum(per_clip) / len(per_clip)
        return row

    def plot(self, run_dir: Path, clips) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        with open(run_dir / "val.csv") as f:
            rows = list(csv.DictReader(f))
        it = [int(r["iteration"]) for r in rows]
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        for c in clips:
            line, = ax.plot(it, [float(r[f"flow_epe@{c.name}"]) for r in rows], "o-", label=c.name)
            ax.plot(it, [float(r[f"flow_epe_zero@{c.name}"]) for r in rows], ":", color=line.get_color())
        ax.set_xlabel("iteration")
        ax.set_ylabel("FNet endpoint error to DIS (LR px)")
        ax.set_title(f"{self.cfg.model} stage 0 (solid); zero flow (dotted)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        from edgevsr.quality.plots import save_png

        save_png(fig, run_dir / "val.png")


__all__ = ["FlowStage", "flow_margin"]
