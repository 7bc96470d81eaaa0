"""The INT8 TensorRT form written on the FP16 graph (issue 24, finding 6).

A strongly typed engine keeps the ONNX's own types outside the Q/DQ pairs: from the FP32-float form, the convs
the quantizer keeps in float and all HR elementwise work run FP32. Here the same Q/DQ graph gets the FP16
export's precision everywhere else: every node :func:`edgevsr.quantize.fp16.fp16_nodes` runs in FP16 does so
here too, a Q/DQ pair whose readers are all FP16 carries FP16 scales (so the DequantizeLinear output is FP16
and TensorRT fuses it into the INT8 conv as before), and the warp grid, GridSample and flow scaling stay FP32
behind casts. FP16 scales need opset 19, so the graph is converted to it; TensorRT 8.x (FP32 scales only)
cannot build this form.
"""

from __future__ import annotations

FP16_FLOATS_KEY = "edgevsr.int8_floats"  # metadata: "fp16" for this form
OPSET = 19


def int8_on_fp16(qdq, fp32):
    """``qdq`` (TensorRT-form Q/DQ graph made from ``fp32``) with its float parts in FP16, opset 19."""
    import onnx
    from onnx import version_converter

    from edgevsr.quantize.fp16 import convert_fp16, fp16_nodes

    if max(op.version for op in qdq.opset_import if op.domain in ("", "ai.onnx")) < OPSET:
        qdq = version_converter.convert_version(qdq, OPSET)
    half = set(fp16_nodes(fp32))
    readers: dict[str, list[str]] = {}
    for n in qdq.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n.name)
    for op in ("DequantizeLinear", "QuantizeLinear"):  # DQ first: a Q is FP16 when its DQ is
        for n in qdq.graph.node:
            users = readers.get(n.output[0], [])
            if n.op_type == op and users and all(u in half for u in users):
                half.add(n.name)
    out = convert_fp16(qdq, half=half)
    onnx.checker.check_model(out)
    return out
