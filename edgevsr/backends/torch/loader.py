"""How the torch backend obtains its model: a registered architecture with its (shipped or given) weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgevsr.models.spec import ModelSpec

if TYPE_CHECKING:
    from edgevsr.backends.registry import RunnerConfig

    from .runner import TorchRunner


def load(cfg: RunnerConfig) -> tuple[TorchRunner, str]:
    """The registry's loader: ``cfg.model`` (default egvsr) with ``cfg.weights``, in ``cfg.precision`` (fp32).

    ``cfg.options.threads`` sets torch's threads (process-wide) before the model loads."""
    from edgevsr.backends.registry import DEFAULT_MODEL
    from edgevsr.weights import load_model

    from .runner import TorchRunner

    opts = cfg.options
    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)
    name = cfg.model or DEFAULT_MODEL
    model, source = load_model(name, cfg.weights, allow_random=cfg.allow_random)
    runner = TorchRunner(model, ModelSpec.of(model, name), cfg.device, cfg.precision or "fp32",
                         channels_last=opts.channels_last, compile=opts.compile, cuda_graph=opts.cuda_graph)
    return runner, source
