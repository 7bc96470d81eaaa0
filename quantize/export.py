"""ONNX export of one model step (``model.core``) with the metadata every edgevsr runtime reads.

The graph is one recurrent step (``lr_curr, lr_prev, hr_prev -> hr_curr``), or one
window / one frame for windowed / single models, exactly as ``model.input_names``
and ``model.output_names`` say. Padding, state and windows stay outside the graph
(:class:`edgevsr.stream.FrameUpscaler`), so H and W are dynamic multiples of
``model.size_multiple`` unless a fixed shape is asked for (TensorRT profiles, DLA).

We use the torch.export-based exporter (torch's default since 2.9): it produces a
constant-folded graph with GridSample (opset >= 17), initializers named after the
module parameters (``srnet.conv_in.0.weight``) - which the quantizer uses to group
layers - and symbolic dimensions that tie H/W of the LR and HR inputs together.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgevsr.backends.onnxruntime.loader import PRECISION_KEY, SPEC_KEY, read_metadata  # noqa: F401 (re-exported)
from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path
from edgevsr.models.base import VSRModel
from edgevsr.models.spec import ModelSpec
from edgevsr.sizes import parse_legacy_hw

PREPROCESSING = "RGB, [0,1], NCHW"
PRECISIONS = ("fp32", "fp16", "int8", "mixed")
MIN_OPSET = 17  # GridSample


@dataclass(frozen=True)
class ExportInfo:
    path: Path
    spec: ModelSpec
    opset: int
    dynamic: bool
    weights_hash: str


def _example_inputs(model: VSRModel, shape: tuple[int, int] | None) -> tuple[torch.Tensor, ...]:
    if shape is not None:
        return model.example_inputs(*shape)
    m = model.size_multiple
    # Distinct H and W (multiples of size_multiple) so the tracer never merges the two symbols.
    return model.example_inputs(6 * m if m > 1 else 48, 8 * m if m > 1 else 64)


def _dynamic_shapes(model: VSRModel, inputs: tuple[torch.Tensor, ...]) -> tuple:
    """Every input's H/W as a multiple of the LR symbols ``h``, ``w`` (HR inputs: scale x larger)."""
    from torch.export import Dim

    m = model.size_multiple
    h_sym, w_sym = Dim("h", min=1, max=4096 // m), Dim("w", min=1, max=4096 // m)
    lr_h, lr_w = inputs[0].shape[-2:]
    dims = []
    for x in inputs:
        fh, fw = x.shape[-2] // lr_h, x.shape[-1] // lr_w
        dims.append({2: (m * fh) * h_sym, 3: (m * fw) * w_sym})
    return (tuple(dims),)


def check_shape(model: VSRModel, shape: tuple[int, int]) -> None:
    h, w = shape
    m = model.size_multiple
    if h <= 0 or w <= 0 or h % m or w % m:
        raise EdgeVSRError(f"--size {w}x{h}: LR width and height must be positive multiples of {m} for this model")


def parse_shape(text: str) -> tuple[int, int]:
    """Deprecated HxW spelling (``1x3x272x480`` or ``272x480``) -> (272, 480), array order; see edgevsr.sizes."""
    return parse_legacy_hw(text, "shape").hw


def fold_batchnorm(model: VSRModel) -> VSRModel:
    """An eval-mode copy with every Conv -> BatchNorm pair folded, or ``model`` itself when it has no BatchNorm.

    Part of every export: one layer fewer per pair, and INT8 weight ranges measured on the folded weights.
    """
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return model
    from edgevsr.quantize.bn_fusion import fuse_batchnorm

    return fuse_batchnorm(model.eval())[0]


def to_onnx(model: VSRModel, shape: tuple[int, int] | None = None, opset: int = 18, fuse_bn: bool = True):
    """The ONNX ModelProto of ``model.core`` (FP32, no edgevsr metadata yet); BatchNorm folded unless ``fuse_bn``
    is False (only the fusion benchmark wants the unfused graph)."""
    if opset < MIN_OPSET:
        raise EdgeVSRError(f"opset {opset}: edgevsr needs opset >= {MIN_OPSET} (GridSample)")
    if shape is not None:
        check_shape(model, shape)
    model = model.eval()
    if fuse_bn:
        model = fold_batchnorm(model)
    model = model.deploy().eval()  # the model's export form (RRN: arranged for INT8); same outputs
    inputs = _example_inputs(model, shape)
    kwargs = {} if shape is not None else {"dynamic_shapes": _dynamic_shapes(model, inputs)}
    # the exporter logs a warning per missing torchvision op and prints its stages: not for our users
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, inputs, dynamo=True, opset_version=opset, verbose=False,
                                    input_names=list(model.input_names), output_names=list(model.output_names),
                                    **kwargs)
    return program.model_proto


def set_metadata(proto, props: dict[str, str]) -> None:
    """Set (replace) ``metadata_props`` entries."""
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for k, v in [*keep, *props.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, str(v)


def edgevsr_metadata(model: VSRModel, spec_name: str, precision: str) -> dict[str, str]:
    from edgevsr.weights import weights_hash

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} not in {PRECISIONS}")
    spec = ModelSpec.of(model, spec_name)
    return {
        SPEC_KEY: json.dumps(spec.to_dict()),
        PRECISION_KEY: precision,
        "edgevsr.model": spec_name,
        "edgevsr.scale": str(spec.scale),
        "edgevsr.weights_hash": weights_hash(model),
        "edgevsr.preprocessing": PREPROCESSING,
    }


def fixed_lr_shape(path: str | Path) -> tuple[int, int] | None:
    """LR (h, w) of an export made with a fixed shape, or None if its H/W are dynamic."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 4 and dims[2].HasField("dim_value") and dims[3].HasField("dim_value"):
        return dims[2].dim_value, dims[3].dim_value
    return None


def save_onnx(proto, path: str | Path) -> Path:
    """Check and write a ModelProto atomically (temp name, then rename)."""
    import onnx

    path = Path(path)
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))
    return path


def export_onnx(model: VSRModel, spec_name: str, path: str | Path, shape: tuple[int, int] | None = None,
                opset: int = 18, precision: str = "fp32", optimize: bool = True) -> ExportInfo:
    """Export ``model.core`` to ``path`` (dynamic H/W unless ``shape`` = LR (h, w)), with edgevsr metadata.

    ``optimize`` applies the exact rewrites of :mod:`edgevsr.quantize.optimize` (Resize -> Conv); BatchNorm
    after a convolution is always folded into it (:func:`fold_batchnorm`).
    """
    proto = to_onnx(model, shape, opset)
    if optimize:
        from edgevsr.quantize.optimize import resize_to_conv

        proto, _ = resize_to_conv(proto)
    meta = edgevsr_metadata(model, spec_name, precision)
    set_metadata(proto, meta)
    proto.producer_name = "edgevsr"
    proto.doc_string = f"edgevsr {spec_name} x{model.scale}; inputs {PREPROCESSING}"
    save_onnx(proto, path)
    return ExportInfo(Path(path), ModelSpec.of(model, spec_name), opset, shape is None, meta["edgevsr.weights_hash"])


def compare_with_torch(model: VSRModel, path: str | Path, inputs: list[tuple[np.ndarray, ...]]) -> float:
    """Max abs difference between ONNX Runtime (CPU) and PyTorch on the given step inputs."""
    from edgevsr.backends.onnxruntime.loader import make_session

    sess = make_session(path)
    names = [i.name for i in sess.get_inputs()]
    worst = 0.0
    with torch.no_grad():
        for step in inputs:
            ref = model.core(*[torch.from_numpy(np.ascontiguousarray(x)) for x in step]).numpy()
            got = sess.run(None, dict(zip(names, step)))[0]
            worst = max(worst, float(np.abs(got.astype(np.float32) - ref).max()))
    return worst
