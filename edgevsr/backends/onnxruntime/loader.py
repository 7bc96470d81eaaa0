"""How to obtain an ONNX Runtime session: the edgevsr metadata of an export, one provider and thread policy.

Every ONNX Runtime session in edgevsr (runner, export check, quantizer, calibration) is made here, so
providers, threads and the one-line error for an unloadable file are decided once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.models.spec import ModelSpec

if TYPE_CHECKING:
    from edgevsr.backends.base import Runner
    from edgevsr.backends.registry import RunnerConfig

SPEC_KEY = "edgevsr.spec"  # metadata_props key written by edgevsr.quantize.export
PRECISION_KEY = "edgevsr.precision"


def read_metadata(path: str | Path) -> dict[str, str]:
    """metadata_props of an edgevsr ONNX export; a missing, non-ONNX or foreign file is a one-line error."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise EdgeVSRError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise EdgeVSRError(f"{path}: not an ONNX model ({first_line(exc, 120)})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if SPEC_KEY not in props:
        raise EdgeVSRError(f"{path}: ONNX file is not an edgevsr export (no '{SPEC_KEY}' metadata); "
                           "export it with `edgevsr quantize MODEL -o FILE.onnx`")
    return props


def read_spec(path: str | Path) -> ModelSpec:
    """The ModelSpec an edgevsr export carries in its metadata."""
    return ModelSpec.from_dict(json.loads(read_metadata(path)[SPEC_KEY]))


def providers_for(device: str) -> list[str]:
    """The one provider policy: CPU, or on ``cuda`` TensorRT then CUDA execution providers where the build has them."""
    import onnxruntime as ort

    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    gpu = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available]
    if not gpu:
        raise EdgeVSRError("--device cuda: this onnxruntime has no CUDA/TensorRT execution provider (install "
                           f"onnxruntime-gpu); available: {', '.join(available)}")
    return [*gpu, "CPUExecutionProvider"]


def make_session(model: str | Path | bytes, device: str = "cpu", threads: int | None = 0, optimize: bool = True,
                 providers: list[str] | None = None):
    """The only place an ONNX Runtime session is made: one provider and thread policy for every caller.

    ``threads`` 0 / None lets ONNX Runtime choose; ``optimize`` False keeps every tensor (calibration taps them)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                     else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if threads:
        opts.intra_op_num_threads = threads
    src = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(src, opts, providers=providers or providers_for(device))
    except Exception as exc:
        what = "model bytes" if isinstance(model, bytes) else str(model)
        raise EdgeVSRError(f"{what}: onnxruntime cannot load it ({first_line(exc, 200)})") from None


def load(cfg: RunnerConfig) -> tuple[Runner, str]:
    """The registry's loader: an :class:`OnnxRuntimeRunner` for ``cfg.options.model_file``; a contradicting model
    is refused."""
    from edgevsr.backends.registry import check_request

    from .runner import OnnxRuntimeRunner

    opts = cfg.options
    runner = OnnxRuntimeRunner(opts.model_file, cfg.device, threads=opts.threads)
    check_request(cfg, runner.spec.name, runner.precision, opts.model_file)
    return runner, f"{opts.model_file} ({runner.spec.name})"
