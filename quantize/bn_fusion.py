"""Fold eval-mode BatchNorm2d into the preceding Conv2d / ConvTranspose2d (before export or quantization).

A BatchNorm after a convolution is an affine map per output channel, so it can be
folded into the convolution's weight and bias: one layer fewer, and INT8 ranges
computed on the folded weights (quantizing an unfolded conv and then scaling by
BN would waste the weight range). Pairs are found where the order is certain:
consecutive children of an ``nn.Sequential`` (at any depth), and - when the
module traces with ``torch.fx`` - any conv whose only user is a BatchNorm.

EGVSR, FRVSR, TecoGAN and VESPCN generators have no BatchNorm: the pass reports 0
fused pairs for them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


@dataclass
class FusionReport:
    fused: list[str] = field(default_factory=list)  # "conv_name + bn_name"
    unfused_bn: list[str] = field(default_factory=list)  # BatchNorms left (not after a conv)

    @property
    def count(self) -> int:
        return len(self.fused)


@torch.no_grad()
def fold(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
    """Fold ``bn`` into ``conv`` in place (``conv`` gains a bias if it had none)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1.0 / torch.sqrt(
        bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0.0) - bn.running_mean * scale
    w = conv.weight
    if isinstance(conv, nn.ConvTranspose2d):  # weight: (in, out / groups, kh, kw)
        g = conv.groups
        w.copy_((w.view(g, w.shape[0] // g, w.shape[1], *w.shape[2:])
                 * scale.view(g, 1, w.shape[1], 1, 1)).view_as(w))
    else:  # weight: (out, in / groups, kh, kw)
        w.mul_(scale.view(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new_bias = bias * scale + shift
    if conv.bias is None:
        conv.bias = nn.Parameter(new_bias)
    else:
        conv.bias.copy_(new_bias)


def _fuse_sequentials(module: nn.Module, prefix: str, report: FusionReport) -> None:
    for name, child in module.named_children():
        _fuse_sequentials(child, f"{prefix}{name}.", report)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, _CONVS) and isinstance(bn, nn.BatchNorm2d) and bn.num_features == (
                    conv.out_channels):
                fold(conv, bn)
                module._modules[b] = nn.Identity()
                report.fused.append(f"{prefix}{a} + {prefix}{b}")


def _fuse_traced(model: nn.Module, report: FusionReport) -> None:
    """Conv -> BN pairs outside Sequentials, found on an FX trace of ``model`` (skipped if it does not trace)."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:
        return
    modules = dict(model.named_modules())
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.BatchNorm2d):
            continue
        src = node.args[0] if node.args else None
        if (getattr(src, "op", None) == "call_module" and isinstance(modules.get(src.target), _CONVS)
                and len(src.users) == 1):
            conv, bn = modules[src.target], modules[node.target]
            if bn.num_features != conv.out_channels:
                continue
            fold(conv, bn)
            parent_name, _, attr = node.target.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, nn.Identity())
            report.fused.append(f"{src.target} + {node.target}")


def fuse_batchnorm(model: nn.Module, inplace: bool = False) -> tuple[nn.Module, FusionReport]:
    """Eval-mode copy (or ``model`` itself) with every provable Conv -> BatchNorm pair folded."""
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    report = FusionReport()
    _fuse_sequentials(model, "", report)
    _fuse_traced(model, report)
    report.unfused_bn = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    return model, report
