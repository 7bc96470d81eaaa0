"""ONNX Runtime runner: CPU by default; CUDA / TensorRT execution providers when the GPU build has them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.models.spec import ModelSpec

from .loader import PRECISION_KEY, SPEC_KEY, make_session, providers_for, read_metadata


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None,
                 providers: list[str] | None = None):
        """``threads``: ONNX Runtime intra-op threads (None: ONNX Runtime chooses)."""
        self.path = Path(path)
        meta = read_metadata(self.path)
        super().__init__(ModelSpec.from_dict(json.loads(meta[SPEC_KEY])), meta.get(PRECISION_KEY, "fp32"))
        self.device, self.threads = device, threads
        self.providers = providers or providers_for(device)
        self.session = None

    def activate_impl(self) -> None:
        self.session = make_session(self.path, self.device, self.threads, providers=self.providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def deactivate_impl(self) -> None:
        self.session = None

    def infer_impl(self, *inputs: Any) -> np.ndarray:
        feed = {n: np.ascontiguousarray(x, dtype=np.float32) for n, x in zip(self.input_names, inputs)}
        return self.session.run(self.output_names[:1], feed)[0]

    def describe(self) -> str:
        return f"onnxruntime {self.providers[0].replace('ExecutionProvider', '')} {self.precision}"
