"""ONNX Runtime runner: CPU by default; CUDA / TensorRT execution providers when the GPU build has them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.models.spec import ModelSpec

SPEC_KEY = "edgevsr.spec"  # metadata_props key written by edgevsr.quantize.export


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


def make_session(model: str | Path | bytes, device: str = "cpu", threads: int = 0, optimize: bool = True,
                 providers: list[str] | None = None):
    """The only place an ONNX Runtime session is made: one provider and thread policy for every caller.

    ``threads`` 0 lets ONNX Runtime choose; ``optimize`` False keeps every tensor (calibration taps them)."""
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


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None,
                 providers: list[str] | None = None):
        self.path = Path(path)
        meta = read_metadata(self.path)
        super().__init__(ModelSpec.from_dict(json.loads(meta[SPEC_KEY])), meta.get("edgevsr.precision", "fp32"))
        self.device, self.threads = device, threads
        self.providers = providers or providers_for(device)
        self.session = None

    def activate_impl(self) -> None:
        threads = self.threads or int(os.environ.get("EDGEVSR_ORT_THREADS", "0"))
        self.session = make_session(self.path, self.device, threads, providers=self.providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def deactivate_impl(self) -> None:
        self.session = None

    def infer_impl(self, *inputs: Any) -> np.ndarray:
        feed = {n: np.ascontiguousarray(x, dtype=np.float32) for n, x in zip(self.input_names, inputs)}
        return self.session.run(self.output_names[:1], feed)[0]

    def describe(self) -> str:
        return f"onnxruntime {self.providers[0].replace('ExecutionProvider', '')} {self.precision}"
