"""Start a model from a related model's trained weights: every layer whose tensors match by name and shape.

FRVSR and TecoGAN share EGVSR's FNet (base 32) and, in SRNet, its input conv and residual-block layout
(EGVSR has 10 blocks of 64 channels, FRVSR 16). Taking those from a trained EGVSR file gives FRVSR a
flow network that already tracks motion (stage 0 took ~40 CPU minutes to teach it) and a working body,
so its CPU stage 1 spends its iterations on what differs: six more blocks and the transposed-conv head.
What the donor lacks starts quiet, so the warm-started model begins exactly at the donor's body feeding a
zero residual (plain grid-aligned bicubic), never at random noise on top of it:
- a residual block whose last conv got nothing starts as the identity (that conv zero);
- an output conv that did not match starts at zero (the trainer's ``quiet_residual``).
"""

from __future__ import annotations

import torch
from torch import nn

from edgevsr.errors import EdgeVSRError
from edgevsr.models.frnet import ResidualBlock


def warm_start(model: nn.Module, sd: dict[str, torch.Tensor], source: str) -> dict[str, list[str]]:
    """Copy ``sd``'s tensors into ``model`` module by module; returns ``{"taken": [...], "fresh": [...]}`` names.

    A module (a conv: weight and bias) is taken only when all its tensors match by name and shape, so a bias
    whose shape happens to fit never comes without its weight. Residual blocks that got nothing start as the
    identity (their last conv zero), as does one whose last conv did not match.
    """
    own = model.state_dict()
    modules: dict[str, list[str]] = {}
    for k in own:
        modules.setdefault(k.rsplit(".", 1)[0], []).append(k)
    taken = {k: sd[k].to(own[k].dtype) for keys in modules.values()
             if all(k in sd and tuple(sd[k].shape) == tuple(own[k].shape) for k in keys) for k in keys}
    if not any(own[k].dim() > 1 for k in taken):
        raise EdgeVSRError(f"{source}: no layer matches model {type(model).__name__} by name and shape "
                           "(warm_start needs a related model's weights, e.g. egvsr for frvsr)")
    model.load_state_dict(taken, strict=False)
    with torch.no_grad():
        for name, block in model.named_modules():
            if isinstance(block, ResidualBlock) and f"{name}.conv.{len(block.conv) - 1}.weight" not in taken:
                last = block.conv[-1]  # its branch adds nothing until trained: the block passes its input on
                last.weight.zero_()
                last.bias.zero_()
    return {"taken": sorted(taken), "fresh": sorted(k for k in own if k not in taken)}


def describe(parts: dict[str, list[str]]) -> str:
    """One line for the log: how many tensors came from the donor, and which module groups start fresh."""
    groups = sorted({".".join(k.split(".")[:3]) if ".resblocks." in k else ".".join(k.split(".")[:2])
                     for k in parts["fresh"]})
    return (f"warm start: {len(parts['taken'])} tensors taken, {len(parts['fresh'])} fresh"
            + (f" ({', '.join(groups)})" if groups else ""))
