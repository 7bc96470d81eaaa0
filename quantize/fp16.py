"""FP16 conversion of an exported step, with FP32 islands where half precision is known to hurt.

Nodes inside weighted layer groups (conv stacks, residual blocks: see
:func:`edgevsr.quantize.int8.layer_groups`) run in FP16 unless their op type is
in ``block_ops``; everything else - the flow scaling (``tanh * 24``, ``x4``), the
warp grid arithmetic and GridSample - stays FP32, with Cast nodes at every
boundary. The bicubic skip (a conv after ``resize_to_conv``) and the final add
belong to the SR group, so they run FP16. Graph inputs and outputs stay FP32
by default so runtimes and the streaming loop see the same interface.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BLOCK_OPS = ("GridSample", "Tanh", "Range", "Resize")
# Inputs that must keep their declared type whatever the node's precision.
_FIXED_INPUTS = {"Resize": {1, 2}, "Pad": {1, 2}, "Clip": set()}


# Elementwise / joining ops that run FP16 when every float input already is: no cast is added, and the
# DLA (FP16/INT8 only) keeps the residual adds and activations between FP16 convs instead of splitting there.
CLOSURE_OPS = ("Add", "Relu", "LeakyRelu", "Concat", "Clip", "MaxPool", "Sigmoid")


def fp16_nodes(proto, block_ops: tuple[str, ...] = DEFAULT_BLOCK_OPS, closure: bool = True) -> set[str]:
    """Names of the nodes that would run in FP16: weighted layer groups, then (``closure``) the
    :data:`CLOSURE_OPS` nodes whose float inputs all come from FP16 nodes (issue 24, finding 7)."""
    from edgevsr.quantize.int8 import layer_groups

    members = {n for g in layer_groups(proto).values() for n in g.nodes}
    half = {n.name for n in proto.graph.node if n.name in members and n.op_type not in block_ops}
    if not closure:
        return half
    inits = {i.name for i in proto.graph.initializer}
    producer = {o: n.name for n in proto.graph.node for o in n.output}
    changed = True
    while changed:  # to a fixed point: a closed Add can make the Relu after it closable
        changed = False
        for n in proto.graph.node:
            if n.name in half or n.op_type not in CLOSURE_OPS or n.op_type in block_ops:
                continue
            act = [i for i in n.input if i and i not in inits]
            if act and all(producer.get(i) in half for i in act):
                half.add(n.name)
                changed = True
    return half


def convert_fp16(proto, block_ops: tuple[str, ...] = DEFAULT_BLOCK_OPS, keep_io_fp32: bool = True,
                 half: set[str] | None = None):
    """A copy of ``proto`` with the :func:`fp16_nodes` (or the ``half`` named) in half precision (Casts inserted
    at boundaries)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *g.input, *g.output]}
    inits = {i.name: i for i in g.initializer}
    half = set(half) if half is not None else fp16_nodes(model, block_ops)
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    # precision of each float tensor as produced
    produced_half = {o for n in g.node if n.name in half for o in n.output if types.get(o) == FLOAT}
    if not keep_io_fp32:
        for i in g.input:
            if i.type.tensor_type.elem_type == FLOAT and i.name not in inits:
                i.type.tensor_type.elem_type = HALF
                produced_half.add(i.name)

    # initializers: convert those read only by FP16 nodes at non-fixed positions
    def fixed(n, idx):
        return idx in _FIXED_INPUTS.get(n.op_type, set())

    half_inits = set()
    for name, init in inits.items():
        if init.data_type != FLOAT:
            continue
        uses = [(n, idx) for n in consumers.get(name, []) for idx, i in enumerate(n.input) if i == name]
        if uses and all(n.name in half and not fixed(n, idx) for n, idx in uses):
            arr = numpy_helper.to_array(init).astype(np.float16)
            init.CopyFrom(numpy_helper.from_array(arr, name))
            half_inits.add(name)

    casts: dict[tuple[str, int], str] = {}
    new_nodes = []

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            out = f"{name}__to_{'fp16' if to == HALF else 'fp32'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], name=f"{out}_cast", to=to))
            casts[key] = out
        return casts[key]

    for n in g.node:
        want_half = n.name in half
        for idx, i in enumerate(n.input):
            if not i or i in half_inits or types.get(i) != FLOAT or fixed(n, idx):
                if i in half_inits and not want_half:
                    raise AssertionError(f"{i} converted but read by FP32 node {n.name}")
                continue
            is_half = i in produced_half
            if want_half and not is_half:
                n.input[idx] = cast(i, HALF)
            elif not want_half and is_half:
                n.input[idx] = cast(i, FLOAT)
        if want_half:
            for a in n.attribute:  # Cast nodes inside an FP16 region target FP16
                if n.op_type == "Cast" and a.name == "to" and a.i == FLOAT:
                    a.i = HALF
        new_nodes.append(n)

    for out in g.output:
        if out.name in produced_half:
            if keep_io_fp32:
                inner = f"{out.name}__fp16"
                for n in new_nodes:
                    for idx, o in enumerate(n.output):
                        if o == out.name:
                            n.output[idx] = inner
                    for idx, i in enumerate(n.input):
                        if i == out.name:
                            n.input[idx] = inner
                new_nodes.append(helper.make_node("Cast", [inner], [out.name], name=f"{out.name}_to_fp32", to=FLOAT))
            else:
                out.type.tensor_type.elem_type = HALF
    del g.node[:]
    g.node.extend(_toposort(new_nodes, {i.name for i in g.input} | set(inits)))
    del g.value_info[:]
    return model


def _toposort(nodes: list, available: set[str]) -> list:
    have = set(available) | {""}
    pending, out = list(nodes), []
    while pending:
        rest = []
        for n in pending:
            if all(i in have for i in n.input):
                out.append(n)
                have.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError(f"graph has a cycle or a dangling input at {rest[0].name}")
        pending = rest
    return out
