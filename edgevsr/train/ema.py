"""Exponential moving average (Polyak average) of a generator's weights, kept in FP32 beside the training model.

Validation of single checkpoints swings by a few tenths of a dB from one validation to the next; the average of
the recent weights is smoother and usually a little better, so with ``ema_decay`` > 0 the trainer selects and
saves the averaged weights (and measures the raw ones beside them).
"""

from __future__ import annotations

import torch
from torch import nn


def effective_decay(decay: float, updates: int) -> float:
    """``min(decay, (1 + n) / (10 + n))`` for the ``n``-th update (0-based): early averages follow the weights
    closely instead of being dominated by the initialisation."""
    return min(decay, (1 + updates) / (10 + updates))


class WeightAverage:
    """FP32 EMA of ``model``'s parameters; its buffers are copied as they are. Keyed like ``model.state_dict()``.

    The averaged tensors are cloned from the model's, so they keep its memory layout (channels_last included).
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), not {decay}")
        self.decay = decay
        self.params = {n for n, _ in model.named_parameters(remove_duplicate=False)}
        self.state: dict[str, torch.Tensor] = {}
        self.updates = 0
        self.reset(model)

    def reset(self, model: nn.Module) -> None:
        """Start the average afresh from the model's current weights."""
        self.state = {k: (v.detach().float() if k in self.params else v.detach()).clone()
                      for k, v in model.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """``ema = d * ema + (1 - d) * p`` for every parameter (d: :func:`effective_decay`); buffers copied."""
        src = model.state_dict()
        keys = [k for k in self.state if k in self.params]
        torch._foreach_lerp_([self.state[k] for k in keys], [src[k].float() for k in keys],
                             1.0 - effective_decay(self.decay, self.updates))
        for k, v in self.state.items():
            if k not in self.params:
                v.copy_(src[k])
        self.updates += 1

    def state_dict(self) -> dict:
        return {"ema": dict(self.state), "ema_updates": torch.tensor(self.updates)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a saved average exactly (copied into the existing tensors: their layout is kept)."""
        saved = state["ema"]
        if set(saved) != set(self.state):
            missing, extra = sorted(set(self.state) - set(saved)), sorted(set(saved) - set(self.state))
            raise KeyError(f"EMA state does not match the model (missing {missing[:3]}, unexpected {extra[:3]})")
        with torch.no_grad():
            for k, v in self.state.items():
                v.copy_(saved[k])
        self.updates = int(state["ema_updates"])

    def copy_to(self, model: nn.Module) -> nn.Module:
        """Load the averaged weights into ``model`` (another instance of the same architecture)."""
        model.load_state_dict(self.state)
        return model


__all__ = ["WeightAverage", "effective_decay"]
