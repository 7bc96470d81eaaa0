"""Stage 2: TecoGAN-style spatio-temporal adversarial fine-tuning.

The discriminator sees triplets of consecutive HR frames (generated or ground
truth), the same triplet motion-compensated onto its middle frame with the
generator's LR flow, and the bicubic-upsampled LR triplet: 27 channels. So it
judges spatial detail *and* temporal coherence. The generator is also trained
with the ping-pong loss (the window run forward, then backward: the two passes
must agree, which stops drifting artefacts), a perceptual feature loss on the
ImageNet AlexNet trunk of LPIPS, the pixel and warping losses, and a small GAN
weight. The D step is skipped while D is already winning (adaptive update).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from edgevsr.models.base import VSRModel
from edgevsr.models.ops import backward_warp, bicubic_upsample
from edgevsr.train.config import TrainConfig
from edgevsr.train.losses import (
    charbonnier,
    pingpong_loss,
    temporal_loss,
    unroll,
    warp_loss,
    warped_temporal_loss,
)


class SpatioTemporalDiscriminator(nn.Module):
    """Patch discriminator over (frames, warped frames, upsampled LR) triplets; returns logits and features."""

    def __init__(self, nf: int = 64, in_nc: int = 3):
        super().__init__()
        act = nn.LeakyReLU(0.2, inplace=True)
        self.conv_in = nn.Sequential(nn.Conv2d(9 * in_nc, nf, 3, 1, 1), act)
        chans = [nf, nf, 2 * nf, 4 * nf, 4 * nf]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))
            for a, b in zip(chans[:-1], chans[1:], strict=True))
        self.head = nn.Conv2d(chans[-1], 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        x = self.conv_in(x)
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        return self.head(x), feats


def triplet_indices(t: int) -> list[int]:
    """Middle frames of non-overlapping triplets (1, 4, 7, ...) that fit in a window of ``t`` frames."""
    return list(range(1, t - 1, 3))


@torch.no_grad()
def triplet_flows(model: VSRModel, lr: torch.Tensor, mids: list[int]) -> torch.Tensor:
    """HR flows from each middle frame to its previous and next frames: (N * len(mids), 2, 2, 4h, 4w)."""
    s = model.scale
    flows = []
    for m in mids:
        pair = []
        for nb in (m - 1, m + 1):
            f = model.fnet(lr[:, m], lr[:, nb])
            pair.append(s * F.interpolate(f, scale_factor=s, mode="bilinear", align_corners=False))
        flows.append(torch.stack(pair, 1))
    return torch.cat(flows, 0)


def triplet_input(hr: torch.Tensor, lr: torch.Tensor, flows: torch.Tensor, mids: list[int]) -> torch.Tensor:
    """D input (N * len(mids), 27, H, W): frames, frames warped onto the middle, bicubic LR."""
    n, _, c, h, w = hr.shape
    frames = torch.cat([hr[:, m - 1:m + 2] for m in mids], 0)  # (B, 3, C, H, W)
    lrs = torch.cat([lr[:, m - 1:m + 2] for m in mids], 0)
    prev = backward_warp(frames[:, 0], flows[:, 0])
    nxt = backward_warp(frames[:, 2], flows[:, 1])
    up = bicubic_upsample(lrs.flatten(0, 1), 4).unflatten(0, lrs.shape[:2])
    return torch.cat([frames.flatten(1, 2), prev, frames[:, 1], nxt, up.flatten(1, 2)], 1)


class PerceptualLoss(nn.Module):
    """Mean squared distance of unit-normalised features of a frozen extractor that returns a list of taps.

    With the LPIPS AlexNet trunk this is LPIPS without its learned per-channel
    weights (so the validation LPIPS is not optimised directly).
    """

    def __init__(self, features: nn.Module):
        super().__init__()
        self.features = features.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        def unit(f: torch.Tensor) -> torch.Tensor:
            return f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)

        fx, fy = self.features(x * 2 - 1), self.features(y * 2 - 1)
        with torch.autocast(x.device.type, enabled=False):  # features may be bf16 (autocast): the distance is FP32
            fx, fy = [f.float() for f in fx], [f.float() for f in fy]
            return sum(((unit(a) - unit(b)) ** 2).sum(1).mean() for a, b in zip(fx, fy, strict=True)) / len(fx)


def default_features(device: torch.device) -> nn.Module:
    from edgevsr.quality.lpips import alexnet_features

    return alexnet_features(device=device)


class GanStage:
    """Discriminator, its optimiser and the stage-2 generator step."""

    def __init__(self, cfg: TrainConfig, model: VSRModel, device: torch.device, features: nn.Module | None = None):
        g = cfg.gan
        self.cfg, self.model, self.device = cfg, model, device
        self.disc = SpatioTemporalDiscriminator(g.d_channels).to(device).train()
        self.d_opt = torch.optim.Adam(self.disc.parameters(), lr=g.d_lr, betas=(0.5, 0.999))
        self.perceptual = PerceptualLoss(features if features is not None else default_features(device)).to(device)
        if cfg.channels_last:  # as the generator: oneDNN's faster convolution layout, most of all in bf16
            self.disc.to(memory_format=torch.channels_last)
            self.perceptual.to(memory_format=torch.channels_last)
        self.d_updates = 0

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "d_opt": self.d_opt.state_dict(),
                "d_updates": torch.tensor(self.d_updates)}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.d_updates = int(state["d_updates"])

    def step(self, opt: torch.optim.Optimizer, lr: torch.Tensor, hr: torch.Tensor,
             autocast: torch.dtype | None = None) -> dict[str, float]:
        """One discriminator and one generator step. ``autocast`` (None: FP32) is the dtype of the three
        networks' forwards (generator, discriminator, perceptual features); the warps that build D's input
        and every loss stay FP32."""
        g = self.cfg.gan
        n, t = lr.shape[:2]
        amp = {"device_type": self.device.type, "dtype": autocast, "enabled": autocast is not None}
        bce = F.binary_cross_entropy_with_logits
        # Ping-pong: the window forward, then back again (the last frame is not repeated). Without its loss the
        # reversed pass's SRNet is not run: the forward outputs are the same (the recurrence is causal) and only
        # FNet runs on the reversed pairs, whose flows the warp loss still trains on.
        pp = torch.cat([lr, lr[:, :-1].flip(1)], 1)
        with torch.autocast(**amp):
            if g.pingpong_weight > 0:
                out_pp, flows = unroll(self.model, pp)
            else:
                out_pp, flows = unroll(self.model, lr)
                back_flows = self.model.fnet(pp[:, t:].flatten(0, 1), pp[:, t - 1:-1].flatten(0, 1))
                flows = torch.cat([flows, back_flows.unflatten(0, (n, t - 1))], 1)
        out_pp, flows = out_pp.float(), flows.float()
        out, back = out_pp[:, :t], out_pp[:, t - 1:]  # back[k] is frame t-1-k
        mids = triplet_indices(t)
        hr_flows = triplet_flows(self.model, lr, mids)
        fake_in = triplet_input(out, lr, hr_flows, mids)
        real_in = triplet_input(hr, lr, hr_flows, mids)

        # Discriminator (skipped while it already wins clearly).
        with torch.autocast(**amp):
            d_real, d_fake = self.disc(real_in)[0], self.disc(fake_in.detach())[0]
        d_real, d_fake = d_real.float(), d_fake.float()
        d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        update_d = d_loss.item() > g.d_update_ratio * 2 * math.log(2)
        if update_d:
            self.d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_opt.step()
            self.d_updates += 1

        # Generator.
        self.disc.requires_grad_(False)
        frames, gts = out.flatten(0, 1), hr.flatten(0, 1)
        with torch.autocast(**amp):
            g_fake = self.disc(fake_in)[0].float()
            perc = self.perceptual(frames, gts)
        self.disc.requires_grad_(True)
        adv = bce(g_fake, torch.ones_like(g_fake))
        pix = charbonnier(frames, gts)
        wrp = warp_loss(pp, flows)
        ping = pingpong_loss(out[:, :-1], back[:, 1:]) if g.pingpong_weight > 0 else pix.new_zeros(())
        tmp = (warped_temporal_loss(out, hr, flows[:, :t], self.model.scale) if g.temporal_warped
               else temporal_loss(out, hr))
        loss = (g.pixel_weight * pix + g.warp_weight * wrp + g.pingpong_weight * ping
                + g.perceptual_weight * perc + g.gan_weight * adv + g.temporal_weight * tmp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "pixel": pix.item(), "warp": wrp.item(), "pingpong": ping.item(),
                "percep": perc.item(), "temporal": tmp.item(), "adv": adv.item(), "d_loss": d_loss.item(),
                "d_upd": float(update_d)}
