"""How the tensorrt backend obtains its engine: a file built by `edgevsr build`, checked by its sidecar first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError

from .engine_record import read_record

if TYPE_CHECKING:
    from edgevsr.backends.registry import RunnerConfig

    from .runner import TensorRTRunner


def load(cfg: RunnerConfig) -> tuple[TensorRTRunner, str]:
    """The registry's loader: a :class:`TensorRTRunner` for the engine ``cfg.options.engine``.

    The sidecar's model and precision are checked against ``cfg`` before TensorRT deserializes anything."""
    from edgevsr.backends.registry import check_request

    from .runner import TensorRTRunner, require_tensorrt

    require_tensorrt()  # names the extra to install and the backends available instead
    opts = cfg.options
    if opts.engine.suffix.lower() == ".onnx":
        raise EdgeVSRError(f"--backend tensorrt needs an engine: build one with `edgevsr build "
                           f"{opts.engine} -o MODEL.engine` and pass it with --onnx MODEL.engine")
    record = read_record(opts.engine)
    check_request(cfg, record.model_spec.name, record.precision, opts.engine)
    device = cfg.device if cfg.device.startswith("cuda") else "cuda"
    runner = TensorRTRunner(opts.engine, device, cuda_graph=opts.cuda_graph, layer_timing=opts.layer_timing)
    return runner, f"{opts.engine} ({runner.spec.name}, built {runner.record.built_at})"
