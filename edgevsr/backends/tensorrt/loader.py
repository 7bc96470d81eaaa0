"""How the tensorrt backend obtains its engine: a file built by `edgevsr build`, checked by its sidecar first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError

from .engine_record import read_record

if TYPE_CHECKING:
    from edgevsr.backends.registry import RunnerConfig

    from .runner import TensorRTRunner


def load(cfg: RunnerConfig) -> tuple[TensorRTRunner, str]:
    """The registry's loader: a :class:`TensorRTRunner` for the engine ``cfg.onnx``.

    The sidecar's model and precision are checked against ``cfg`` before TensorRT deserializes anything."""
    from edgevsr.backends.registry import check_request

    from .runner import TensorRTRunner, require_tensorrt

    require_tensorrt()  # names the extra to install and the backends available instead
    if cfg.onnx is None or Path(cfg.onnx).suffix.lower() == ".onnx":
        raise EdgeVSRError(f"--backend tensorrt needs an engine: build one with `edgevsr build "
                           f"{cfg.onnx or 'MODEL.onnx'} -o MODEL.engine` and pass it with --onnx MODEL.engine")
    record = read_record(cfg.onnx)
    check_request(cfg, record.model_spec.name, record.precision, cfg.onnx)
    device = cfg.device if cfg.device.startswith("cuda") else "cuda"
    runner = TensorRTRunner(cfg.onnx, device, cuda_graph=cfg.cuda_graph, layer_timing=cfg.layer_timing)
    return runner, f"{cfg.onnx} ({runner.spec.name}, built {runner.record.built_at})"
