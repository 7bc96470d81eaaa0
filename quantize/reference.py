"""The FP32 reference every conversion starts from: an edgevsr ONNX export, made here or given as a file."""

from __future__ import annotations

import json
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec
from edgevsr.quantize import export as X


def is_onnx_file(model: str) -> bool:
    return model.endswith(".onnx") or Path(model).is_file()


def load_reference(model: str, weights: str | None, shape, allow_random: bool = False):
    """(FP32 ONNX proto with edgevsr metadata, spec, where the weights came from)."""
    import onnx

    if is_onnx_file(model):
        meta = X.read_metadata(model)
        if meta.get(X.PRECISION_KEY, "fp32") != "fp32":
            raise EdgeVSRError(f"{model}: already {meta[X.PRECISION_KEY]}; quantize starts from an FP32 export")
        proto = onnx.load(model)
        return proto, ModelSpec.from_dict(json.loads(meta[X.SPEC_KEY])), f"{model} ({meta.get('edgevsr.model')})"
    from edgevsr.quantize.optimize import resize_to_conv
    from edgevsr.weights import load_model

    net, source = load_model(model, weights, allow_random=allow_random)
    proto, _ = resize_to_conv(X.to_onnx(net, shape))
    X.set_metadata(proto, X.edgevsr_metadata(net, model, "fp32"))
    proto.producer_name = "edgevsr"
    return proto, ModelSpec.of(net, model), source


def write_proto(proto, path: Path) -> Path:
    """Plain (unchecked, not atomic) write of a working copy inside the quantizer's temporary folder."""
    import onnx

    onnx.save(proto, str(path))
    return path


def metadata(proto) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}
