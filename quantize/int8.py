"""INT8 post-training quantization to a Q/DQ ONNX graph, by layer group, from precomputed activation ranges.

Weights: per-channel symmetric int8. Activations: per-tensor, either symmetric
int8 (``target="tensorrt"``, the default: the explicit-quantization form TensorRT
parses and fuses, placed by :mod:`edgevsr.quantize.int8_trt`; biases stay float) or
asymmetric uint8 (``target="onnxruntime"``: the U8S8 form ONNX Runtime's x86 kernels
run fastest, placed by ONNX Runtime's ``QDQQuantizer``; biases int32). Which nodes
may be quantized is decided here, by *layer group*, so the mixed-precision search
can keep whole groups in float.

A layer group is a module path from the exporter's scope metadata:
``srnet.resblocks.3`` (a residual block), ``fnet.encoder1`` (a Sequential of
layers), ``srnet.conv_out``. Nodes outside any weighted group (warp, flow
scaling, bicubic skip, space-to-depth, the final add) are never quantized.

Ranges come from calibration except the graph inputs a model declares as pictures
(``picture_inputs`` in its spec: RGB in [0, 1] by contract): those get exactly
[0, 1] (TensorRT form amax 1.0, scale 1/127; ONNX Runtime form scale 1/255, zero
point 0), whatever the calibration frames held.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgevsr.errors import EdgeVSRError

TARGETS = ("tensorrt", "onnxruntime")  # the first is the default
# Ops quantized inside a quantized group (the rest run in float between DQ and Q).
QUANT_OPS = ["Conv", "ConvTranspose", "Relu", "LeakyRelu", "Add", "MaxPool", "DepthToSpace"]
# Ops outside any group that follow a quantized node and just move or clamp its values (pixel shuffle after
# an INT8 conv): kept in 8 bit too, so a 16x-channel tensor is not dequantized before being rearranged.
PASS_THROUGH = ("DepthToSpace", "Relu", "MaxPool")
WEIGHTED_OPS = ("Conv", "ConvTranspose")
SCOPE_KEY = "pkg.torch.onnx.name_scopes"
FLOAT_NODES_KEY = "edgevsr.float_nodes"  # metadata: JSON list of weighted nodes kept in float
PICTURE_RANGE = (0.0, 1.0)  # a picture input's range by the model contract (edgevsr.models.base)


@dataclass
class LayerGroup:
    name: str
    nodes: list[str] = field(default_factory=list)
    convs: list[tuple[str, int, int]] = field(default_factory=list)  # (weight name, in ch, out ch)

    def describe(self) -> str:
        return ", ".join(f"{w.removesuffix('.weight')} {ci}->{co}" for w, ci, co in self.convs)


def group_of(path: str) -> str:
    """Module path -> its layer group: ``a.b.3.conv.0`` -> ``a.b.3``; ``a.enc1.0`` -> ``a.enc1``."""
    parts = path.split(".")
    for i, p in enumerate(parts):
        if p.isdigit() and i > 0:
            rest = parts[i + 1:]
            if any(not r.isdigit() for r in rest):
                return ".".join(parts[: i + 1])
            return ".".join(parts[:i])
    return path


def _module_path(node) -> str | None:
    for p in node.metadata_props:
        if p.key == SCOPE_KEY:
            scopes = [s for s in eval_list(p.value) if s]
            # the last entry is the op itself; the one before it is the innermost module
            return scopes[-2] if len(scopes) >= 2 else None
    return None


def eval_list(text: str) -> list[str]:
    """The exporter writes scopes as a Python-style list of strings; parse it without eval."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def layer_groups(proto) -> dict[str, LayerGroup]:
    """Groups that own at least one Conv/ConvTranspose with an initializer weight, in graph order."""
    inits = {i.name: i for i in proto.graph.initializer}
    groups: dict[str, LayerGroup] = {}
    members: dict[str, list[str]] = {}
    for node in proto.graph.node:
        path = _module_path(node)
        if path is None:
            continue
        g = group_of(path)
        members.setdefault(g, []).append(node.name)
        if node.op_type in WEIGHTED_OPS and len(node.input) > 1 and node.input[1] in inits:
            dims = list(inits[node.input[1]].dims)
            groups_attr = next((a.i for a in node.attribute if a.name == "group"), 1)
            cin, cout = (dims[1] * groups_attr, dims[0]) if node.op_type == "Conv" else (dims[0], dims[1] * groups_attr)
            groups.setdefault(g, LayerGroup(g)).convs.append((node.input[1], cin, cout))
    for g, grp in groups.items():
        grp.nodes = members[g]
    return groups


def default_float_groups(proto, groups: dict[str, LayerGroup]) -> dict[str, str]:
    """Groups kept in float before any measurement, with the reason (what is known to hurt SR models).

    A convolution whose channel count is not a multiple of 8 (first conv on stacked RGB frames,
    EGVSR's 51-channel conv_in, the 4->3 output conv, 2-channel flow heads) gains little from INT8
    and carries the signal where quantization noise shows most; a group feeding Tanh is a flow head.
    """
    tanh_inputs = {n.input[0] for n in proto.graph.node if n.op_type == "Tanh"}
    producers = {o: n for n in proto.graph.node for o in n.output}
    heads = set()
    for t in tanh_inputs:
        n = producers.get(t)
        path = _module_path(n) if n is not None else None
        if path:
            heads.add(group_of(path))
    out = {}
    for name, g in groups.items():
        odd = [f"{w.removesuffix('.weight')} {ci}->{co}" for w, ci, co in g.convs if ci % 8 or co % 8]
        if name in heads:
            out[name] = "flow head (tanh-scaled motion vectors; errors move pixels)"
        elif odd:
            out[name] = "channels not a multiple of 8: " + ", ".join(odd)
    return out


def picture_inputs(proto) -> list[str]:
    """Graph inputs the model declares as pictures (``picture_inputs`` of the spec in its edgevsr metadata)."""
    import json

    from edgevsr.backends.onnxruntime.loader import SPEC_KEY
    from edgevsr.models.spec import ModelSpec

    meta = {p.key: p.value for p in proto.metadata_props}
    if SPEC_KEY not in meta:
        return []
    inputs = {i.name for i in proto.graph.input}
    return [n for n in ModelSpec.from_dict(json.loads(meta[SPEC_KEY])).picture_inputs if n in inputs]


def contract_ranges(proto, ranges: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """``ranges`` with every declared picture input at [0, 1], from the model contract, not calibration."""
    return {**ranges, **{n: PICTURE_RANGE for n in picture_inputs(proto)}}


def quantize_qdq(proto, ranges: dict[str, tuple[float, float]], float_groups: set[str] | frozenset[str],
                 target: str = "tensorrt", picture_range: bool = True):
    """A Q/DQ copy of ``proto`` with every layer group not in ``float_groups`` quantized.

    ``picture_range=False`` keeps the calibrated ranges of the picture inputs too (only to measure the rule).
    """
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData
    from onnxruntime.quantization.qdq_quantizer import QDQQuantizer

    if target not in TARGETS:
        raise EdgeVSRError(f"--target {target!r}: choose one of {', '.join(TARGETS)}")
    groups = layer_groups(proto)
    unknown = set(float_groups) - set(groups)
    if unknown:
        raise EdgeVSRError(f"unknown layer group(s) {', '.join(sorted(unknown))}; have {', '.join(groups)}")
    nodes = [n for g, grp in groups.items() if g not in float_groups for n in grp.nodes]
    if picture_range:
        ranges = contract_ranges(proto, ranges)
    if target == "tensorrt":
        from edgevsr.quantize.int8_trt import quantize_for_tensorrt

        return quantize_for_tensorrt(proto, ranges, set(nodes))
    nodes += _pass_through(proto, set(nodes), groups)
    model = onnx.shape_inference.infer_shapes(proto)
    tensors = TensorsData(CalibrationMethod.MinMax, {
        k: TensorData(lowest=np.array(lo, np.float32), highest=np.array(hi, np.float32))
        for k, (lo, hi) in ranges.items()})
    extra = {"ActivationSymmetric": False, "WeightSymmetric": True, "QuantizeBias": True}
    if not nodes:
        out = onnx.ModelProto()
        out.CopyFrom(proto)
        return out
    quantizer = QDQQuantizer(model, True, False, QuantType.QInt8, QuantType.QUInt8,
                             tensors, nodes, [], QUANT_OPS, extra)
    quantizer.quantize_model()
    quantizer.model.topological_sort()
    out = quantizer.model.model
    del out.graph.value_info[:]  # stale shapes from inference; ORT re-infers
    return out


def _pass_through(proto, quantized: set[str], groups: dict[str, LayerGroup]) -> list[str]:
    grouped = {n for g in groups.values() for n in g.nodes}
    producer = {o: n.name for n in proto.graph.node for o in n.output}
    done = set(quantized)
    extra = []
    for node in proto.graph.node:
        if (node.op_type in PASS_THROUGH and node.name not in grouped and node.input
                and producer.get(node.input[0]) in done):
            done.add(node.name)
            extra.append(node.name)
    return extra


def quantized_groups(proto) -> set[str]:
    """Groups whose convolution weights are fed through DequantizeLinear (i.e. run in INT8)."""
    dq_out = {n.output[0]: n for n in proto.graph.node if n.op_type == "DequantizeLinear"}
    out = set()
    for node in proto.graph.node:
        if node.op_type in WEIGHTED_OPS and len(node.input) > 1 and node.input[1] in dq_out:
            path = _module_path(node)
            if path:
                out.add(group_of(path))
    return out


def float_decisions(proto, float_groups: set[str] | frozenset[str]) -> tuple[list[str], set[str]]:
    """(weighted nodes the quantizer keeps in float, tensors read or written by the INT8 nodes).

    The implicit TensorRT path builds from the FP32 ONNX plus a calibration cache: it
    gets these decisions as the layers to pin to FP32 and as the only tensors given
    a scale, so the flow head, ``conv_in`` and ``conv_out`` stay in float there too.
    """
    groups = layer_groups(proto)
    int8_nodes = {n for g, grp in groups.items() if g not in float_groups for n in grp.nodes}
    int8_nodes |= set(_pass_through(proto, int8_nodes, groups))
    float_nodes = [n.name for n in proto.graph.node if n.op_type in WEIGHTED_OPS and n.name not in int8_nodes]
    tensors = {t for n in proto.graph.node if n.name in int8_nodes for t in [*n.input, *n.output]}
    return float_nodes, tensors - {i.name for i in proto.graph.initializer}
