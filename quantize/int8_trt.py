"""INT8 Q/DQ in the form TensorRT's ONNX parser takes and fuses (``--target tensorrt``, the deploy default).

onnx-tensorrt accepts QuantizeLinear/DequantizeLinear only with INT8 data and
zero point 0 (symmetric), and biases stay float. NVIDIA's Q/DQ placement
guidance puts Q/DQ on the *inputs* of weighted layers (activation per tensor,
weights per output channel) and on the residual input of an Add that follows a
Conv, and never between a Conv and its activation: TensorRT then fuses
conv + bias + ReLU (+ the residual add) into one INT8 kernel, and folds the Q
of the next layer's input into the previous kernel's output. So this module
places exactly that, and nothing else:

- every Conv/ConvTranspose of a quantized layer group reads its activation
  through Q/DQ (one pair per tensor, shared by all its readers) and its weight
  through DQ of an int8 initializer with one scale per output channel (Conv:
  axis 0; ConvTranspose, whose weight is (in, out, kh, kw): axis 1);
- every residual Add of a quantized group (one input made by a quantized Conv)
  reads its other input (the skip) through the same Q/DQ as the block's input;
  its conv branch is the INT8 conv that TensorRT fuses the add into. Quantizing
  that conv's output too would split the fusion (an extra Q/DQ pair).

ONNX Runtime runs this graph too (for quality checks on CPU), though slower than
its own U8S8 form (``--target onnxruntime``).
"""

from __future__ import annotations

import numpy as np

from edgevsr.errors import EdgeVSRError

WEIGHTED_OPS = ("Conv", "ConvTranspose")


def _symmetric_scale(amax: float) -> float:
    return float(amax) / 127.0 if amax > 0 else 1.0  # an all-zero tensor: any scale represents it exactly


def quantize_for_tensorrt(proto, ranges: dict[str, tuple[float, float]], quantized_nodes: set[str]):
    """A copy of ``proto`` with TensorRT-form Q/DQ around the weighted layers (and residual adds) named."""
    import onnx
    from onnx import helper, numpy_helper

    if not any(op.domain in ("", "ai.onnx") and op.version >= 13 for op in proto.opset_import):
        raise EdgeVSRError("per-channel DequantizeLinear needs ONNX opset 13+; re-export the model")
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    new_inits: list = []
    before: dict[str, list] = {}  # node name -> nodes to insert before it
    dq_of: dict[str, str] = {}  # activation tensor -> its DequantizeLinear output

    def const(name: str, array: np.ndarray) -> str:
        new_inits.append(numpy_helper.from_array(array, name))
        return name

    def act_dq(tensor: str, reader) -> str:
        if tensor in dq_of:
            return dq_of[tensor]
        if tensor not in ranges:
            raise EdgeVSRError(f"no calibration range for tensor {tensor!r} (input of {reader.name})")
        lo, hi = ranges[tensor]
        scale = const(f"{tensor}_scale", np.array(_symmetric_scale(max(abs(lo), abs(hi))), np.float32))
        zp = const(f"{tensor}_zero_point", np.array(0, np.int8))
        q, dq = f"{tensor}_QuantizeLinear_Output", f"{tensor}_DequantizeLinear_Output"
        before.setdefault(reader.name, []).extend([
            helper.make_node("QuantizeLinear", [tensor, scale, zp], [q], name=f"{tensor}_QuantizeLinear"),
            helper.make_node("DequantizeLinear", [q, scale, zp], [dq], name=f"{tensor}_DequantizeLinear")])
        dq_of[tensor] = dq
        return dq

    quantized_convs = set()
    for node in g.node:
        if node.name not in quantized_nodes or node.op_type not in WEIGHTED_OPS:
            continue
        if len(node.input) < 2 or node.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        axis = 0 if node.op_type == "Conv" else 1
        amax = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)
        scales = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
        base = node.input[1]
        dq_w = f"{base}_DequantizeLinear_Output"
        before.setdefault(node.name, []).append(helper.make_node(
            "DequantizeLinear", [const(f"{base}_quantized", wq), const(f"{base}_scale", scales),
                                 const(f"{base}_zero_point", np.zeros(len(scales), np.int8))],
            [dq_w], name=f"{base}_DequantizeLinear", axis=axis))
        node.input[0] = act_dq(node.input[0], node)
        node.input[1] = dq_w
        quantized_convs.add(node.name)

    # residual adds (an Add after an INT8 conv): the skip through Q/DQ, the conv branch fused. A sum of INT8
    # convs' outputs only (a convolution split in two, RRN's residual plus its bicubic base) counts as one conv
    # output: quantizing a partial sum would round the picture twice.
    conv_made = {o for n in g.node if n.name in quantized_convs for o in n.output}
    for node in g.node:
        if node.op_type != "Add" or len(node.input) != 2:
            continue
        made_by_qconv = [i in conv_made for i in node.input]
        if all(made_by_qconv):
            conv_made.update(node.output)
        elif sum(made_by_qconv) == 1:
            skip = 1 if made_by_qconv[0] else 0
            if node.input[skip] not in inits:
                node.input[skip] = act_dq(node.input[skip], node)

    nodes = []
    for node in g.node:
        nodes.extend(before.get(node.name, []))
        nodes.append(node)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.value_info[:]
    return model


def trt_qdq_problems(proto) -> list[str]:
    """Why TensorRT's ONNX parser would reject this graph's Q/DQ (empty: it takes it); one line each."""
    from onnx import numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    problems = []
    for n in proto.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            x = numpy_helper.to_array(inits[n.input[0]])
            if x.dtype == np.int32:
                problems.append(f"{n.name}: int32 DequantizeLinear (a quantized bias); TensorRT keeps biases float")
                continue
            if x.dtype != np.int8:
                problems.append(f"{n.name}: {x.dtype} DequantizeLinear input; TensorRT takes INT8 (or FP8/INT4)")
        if len(n.input) > 2 and n.input[2] in inits:
            zp = numpy_helper.to_array(inits[n.input[2]])
            if zp.dtype != np.int8:
                problems.append(f"{n.name}: {zp.dtype} zero point; TensorRT takes INT8 Q/DQ only")
            elif zp.any():
                problems.append(f"{n.name}: non-zero zero point; TensorRT takes symmetric Q/DQ (zero point 0)")
        elif n.op_type == "QuantizeLinear" and len(n.input) < 3:
            problems.append(f"{n.name}: QuantizeLinear without a zero point makes UINT8; TensorRT takes INT8")
    return problems
