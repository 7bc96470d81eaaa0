"""Stage 0: FNet alone, taught by the classical flow teacher, before SRNet ever sees its flow.

Why a separate stage: taught jointly (stage 1), FNet never left zero flow on 2 CPU
cores (docs/training.md §8). Measured on its own (``benchmarks/flow_pretrain_ablation.py``)
the plain FNet does not leave zero even when regressed straight onto the teacher,
or onto exact synthetic shifts: its loss sits at the zero-flow level for the whole
budget. Three things break that plateau:

- BatchNorm after every FNet convolution while training (:func:`add_batchnorm`);
  it is folded back into the convolutions when weights are saved
  (:func:`folded_state_dict`), so the shipped FNet is the published architecture
  with the published parameter names. Before folding, the running statistics are
  re-estimated over many batches of the training distribution (:func:`precise_batchnorm`):
  FNet's features encode the motion, so statistics of other pairs mis-scale them.
- Larger, more varied motion with exact labels: frame pairs ``1..flow_gap_max``
  apart, and the previous frame cut from the HR frame up to ``flow_shift`` LR px
  off-centre, which changes the teacher flow to exactly ``f - shift``
  (:func:`shifted_pair`). Pans and video move ~0.3-1.3 LR px per frame; a
  network that only ever sees that learns that zero is nearly right.
- L2 on the endpoint error: its gradient grows with the error, where the
  Charbonnier (L1-like) loss of the joint stage pulls just as hard towards the
  median, zero.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from edgevsr.degrade import degrade_tensor
from edgevsr.train.flow_teacher import clip_flows, endpoint_error, teacher_epe, teacher_flows

FNET_BLOCKS = ("encoder1", "encoder2", "encoder3", "decoder1", "decoder2", "decoder3", "flow")


def add_batchnorm(fnet: nn.Module) -> None:
    """Put a BatchNorm2d after every FNet convolution except the last (in place; training-time only)."""
    for name in FNET_BLOCKS:
        seq = getattr(fnet, name)
        for i, mod in enumerate(list(seq)):
            if isinstance(mod, nn.Conv2d) and mod is not _last_conv(fnet):
                seq[i] = nn.Sequential(mod, nn.BatchNorm2d(mod.out_channels).to(mod.weight))  # conv's device


def has_batchnorm(fnet: nn.Module) -> bool:
    return any(isinstance(m, nn.BatchNorm2d) for m in fnet.modules())


def _last_conv(fnet: nn.Module) -> nn.Conv2d:
    return [m for m in fnet.modules() if isinstance(m, nn.Conv2d)][-1]


def fold_batchnorm(fnet: nn.Module) -> nn.Module:
    """A copy of ``fnet`` with each (conv, BN) pair folded into one conv: the published FNet layout again."""
    out = copy.deepcopy(fnet)
    for name in FNET_BLOCKS:
        seq = getattr(out, name)
        for i, mod in enumerate(list(seq)):
            if isinstance(mod, nn.Sequential) and len(mod) == 2 and isinstance(mod[1], nn.BatchNorm2d):
                conv, bn = mod
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                  conv.padding, conv.dilation, conv.groups, bias=True,
                                  padding_mode=conv.padding_mode).to(conv.weight)
                with torch.no_grad():
                    fused.weight.copy_(conv.weight * scale[:, None, None, None])
                    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                    fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
                seq[i] = fused
    return out


def folded_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict with FNet's training-time BatchNorm folded away (the keys a checkpoint owner expects)."""
    fnet = getattr(model, "fnet", None)
    if fnet is None or not has_batchnorm(fnet):
        return model.state_dict()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("fnet.")}
    state.update({f"fnet.{k}": v for k, v in fold_batchnorm(fnet).state_dict().items()})
    return state


def draw_shifts(n: int, margin: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Integer HR-pixel offsets ``(n, 2)`` of the previous frame's cut: half the samples are not shifted.

    Without unshifted samples nearly every training pair moves by a pixel or more, and FNet learns to
    report motion where there is none (measured: 1 LR px of error on static parts of held-out clips).
    """
    d = torch.randint(-margin, margin + 1, (n, 2), generator=generator)
    return d * (torch.rand(n, 1, generator=generator) < 0.5)


def cut_pairs(hr: torch.Tensor, d: torch.Tensor, margin: int) -> torch.Tensor:
    """The centre ``C x C`` of HR pairs ``(N, 2, 3, C + 2m, C + 2m)``, the previous frame cut ``d[i]`` HR px off."""
    if margin <= 0:
        return hr
    size = hr.shape[-1] - 2 * margin
    out = []
    for b in range(hr.shape[0]):
        dx, dy = int(d[b, 0]), int(d[b, 1])
        prev = hr[b, 0, :, margin + dy:margin + dy + size, margin + dx:margin + dx + size]
        out.append(torch.stack([prev, hr[b, 1, :, margin:margin + size, margin:margin + size]]))
    return torch.stack(out)


def shifted_pair(hr: torch.Tensor, teacher: torch.Tensor, valid: torch.Tensor, margin: int, scale: int,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crop the centre of HR pairs ``(N, 2, 3, C + 2m, C + 2m)``, the previous frame ``d`` HR px off-centre.

    ``d`` is drawn per sample (:func:`draw_shifts`): integer HR px (so sub-LR-pixel shifts), ``|d| <= margin``;
    ``margin`` must be a multiple of ``scale`` (the LR grids of the crops stay aligned). Labels near the crop
    edge may point outside the cut previous frame (``backward_warp`` clamps there): still exact, not checkable.
    With ``prev(z + f(z)) = cur(z)`` on the big crop, the crops satisfy ``prev_c(x + f(x + m) - d) = cur_c(x)``:
    the teacher flow becomes exactly ``f - d / scale`` (LR px). The previous frame is cut from real
    pixels, never resampled or padded: a warped-and-padded frame carries its shift in a border strip,
    which FNet learns to read instead of the motion.
    Returns the cropped pairs, the teacher flows ``(N, 2, 2, C/s, C/s)`` and their validity.
    """
    if margin <= 0:
        return hr, teacher, valid
    if margin % scale:
        raise ValueError(f"margin {margin} must be a multiple of the scale {scale}")
    m = margin // scale
    d = draw_shifts(hr.shape[0], margin, generator)
    flows = teacher[..., m:-m, m:-m].clone()
    flows[:, 1] -= d.to(flows)[:, :, None, None] / scale
    return cut_pairs(hr, d, margin), flows, valid[..., m:-m, m:-m]


def flow_step(fnet: nn.Module, hr: torch.Tensor, degradation: str, scale: int, margin: int,
              preset: str, workers: int) -> tuple[torch.Tensor, dict[str, float]]:
    """One stage-0 loss on HR frame pairs ``hr (N, 2, 3, C + 2m, C + 2m)``: L2 endpoint error to the teacher,
    the previous frame cut up to ``margin`` HR px off-centre (:func:`shifted_pair`)."""
    teacher, valid = teacher_flows(hr, scale, preset=preset, workers=workers)
    hr, teacher, valid = shifted_pair(hr, teacher, valid, margin, scale)
    flow = fnet(*lr_pairs(hr, degradation))
    target, mask = teacher[:, 1], valid[:, 1]
    loss = (((flow - target) ** 2).sum(1, keepdim=True) * mask).sum() / mask.sum().clamp_min(1.0)
    with torch.no_grad():
        stats = {"epe": float(endpoint_error(flow, target, mask)),
                 "epe_zero": float(endpoint_error(torch.zeros_like(target), target, mask))}
    return loss, stats


@torch.no_grad()
def precise_batchnorm(fnet: nn.Module, batches) -> None:
    """Re-estimate BatchNorm statistics as a plain average over ``batches`` of ``(lr_curr, lr_prev)`` pairs.

    The exponential moving average of training describes the last few crops; a
    folded FNet must describe whole frames. The module's train/eval mode is kept.
    """
    bns = [m for m in fnet.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    mode = fnet.training
    fnet.train()
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    for cur, prev in batches:
        fnet(cur, prev)
    for bn, m in zip(bns, momenta, strict=True):
        bn.momentum = m
    fnet.train(mode)


def clip_flow_epe(fnet: nn.Module, lr: torch.Tensor, hr: torch.Tensor, scale: int, multiple: int) -> dict[str, float]:
    """FNet's endpoint error to the teacher on one clip (``lr (T, 3, h, w)``), and that of zero flow."""
    return teacher_epe(clip_flows(fnet, lr, multiple), hr, scale)


def lr_pairs(hr: torch.Tensor, degradation: str, margin: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(lr_curr, lr_prev) of HR pairs ``(N, 2, 3, C + 2m, C + 2m)``, cut as training cuts them: what FNet sees.

    BatchNorm statistics must come from this distribution: FNet's features encode the motion, and
    statistics of unshifted neighbours (smaller motion) made a trained FNet twice as wrong on its own
    training crops.
    """
    if margin:
        hr = cut_pairs(hr, draw_shifts(hr.shape[0], margin), margin)
    n = hr.shape[0]
    lr = degrade_tensor(hr.flatten(0, 1), degradation).unflatten(0, (n, 2))
    return lr[:, 1], lr[:, 0]


__all__ = ["add_batchnorm", "clip_flow_epe", "cut_pairs", "draw_shifts", "endpoint_error", "flow_step",
           "fold_batchnorm", "folded_state_dict", "has_batchnorm", "lr_pairs", "precise_batchnorm", "shifted_pair"]
