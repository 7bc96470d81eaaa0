"""Start a model from a related model's trained weights: every tensor whose name and shape match.

FRVSR and TecoGAN share EGVSR's FNet (base 32) and, in SRNet, its input conv and residual-block layout
(EGVSR has 10 blocks of 64 channels, FRVSR 16). Taking those from a trained EGVSR file gives FRVSR a
flow network that already tracks motion (stage 0 took ~30 CPU minutes to teach it) and a working body,
so its CPU stage 1 spends its iterations on what differs: six more blocks and the transposed-conv head.
What the donor lacks starts quiet, so the warm-started model begins exactly at the donor's body feeding a
zero residual (plain grid-aligned bicubic), never at random noise on top of it:
- a residual block that got no tensor starts as the identity (its last conv zero);
- an output conv that did not match starts at zero (the trainer's ``quiet_residual``).
"""

from __future__ import annotations

import torch
from torch import nn

from edgevsr.errors import EdgeVSRError
from edgevsr.models.frnet import ResidualBlock


def warm_start(model: nn.Module, sd: dict[str, torch.Tensor], source: str) -> dict[str, list[str]]:
    """Copy the matching tensors of ``sd`` into ``model``; returns ``{"taken": [...], "fresh": [...]}`` names."""
    own = model.state_dict()
    taken = {k: v.to(own[k].dtype) for k, v in sd.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if not taken:
        raise EdgeVSRError(f"{source}: no tensor matches model {type(model).__name__} by name and shape "
                           "(warm_start needs a related model's weights, e.g. egvsr for frvsr)")
    model.load_state_dict(taken, strict=False)
    with torch.no_grad():
        for name, block in model.named_modules():
            if isinstance(block, ResidualBlock) and not any(k.startswith(f"{name}.") for k in taken):
                last = block.conv[-1]
                last.weight.zero_()
                last.bias.zero_()
    return {"taken": sorted(taken), "fresh": sorted(k for k in own if k not in taken)}


def describe(parts: dict[str, list[str]]) -> str:
    """One line for the log: how many tensors came from the donor, and which module groups start fresh."""
    groups = sorted({".".join(k.split(".")[:3]) if ".resblocks." in k else ".".join(k.split(".")[:2])
                     for k in parts["fresh"]})
    return (f"warm start: {len(parts['taken'])} tensors taken, {len(parts['fresh'])} fresh"
            + (f" ({', '.join(groups)})" if groups else ""))
