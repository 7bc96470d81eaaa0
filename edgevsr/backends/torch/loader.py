"""How the torch backend obtains its model: a registered architecture with its (shipped or given) weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgevsr.models.spec import ModelSpec

if TYPE_CHECKING:
    from edgevsr.backends.registry import RunnerConfig

    from .runner import TorchRunner


def load(cfg: RunnerConfig) -> tuple[TorchRunner, str]:
    """The registry's loader: ``cfg.model`` (default egvsr) with ``cfg.weights``, in ``cfg.precision`` (fp32)."""
    from edgevsr.backends.registry import DEFAULT_MODEL
    from edgevsr.weights import load_model

    from .runner import TorchRunner

    name = cfg.model or DEFAULT_MODEL
    model, source = load_model(name, cfg.weights, allow_random=cfg.allow_random)
    runner = TorchRunner(model, ModelSpec.of(model, name), cfg.device, cfg.precision or "fp32",
                         channels_last=cfg.channels_last, compile=cfg.compile, cuda_graph=cfg.cuda_graph)
    return runner, source
