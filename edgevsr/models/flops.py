"""MAC counting by forward hooks on conv / linear layers (the layers that dominate VSR cost)."""

from __future__ import annotations

import torch
from torch import nn


def count_macs(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    """Multiply-accumulates of one ``model.core(*inputs)`` call: convolutions and transposed convolutions."""
    total = 0

    def conv_hook(mod: nn.Module, args, out) -> None:
        nonlocal total
        k = mod.weight[0].numel()  # in/groups * kh * kw
        if isinstance(mod, nn.ConvTranspose2d):
            total += args[0].numel() * mod.weight.shape[1] * mod.weight.shape[2] * mod.weight.shape[3]
        else:
            total += out.numel() * k

    handles = [m.register_forward_hook(conv_hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            model.core(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total
