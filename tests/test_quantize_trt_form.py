"""The default INT8 ONNX is what TensorRT's parser takes and fuses (issue 17, item 1).

onnx-tensorrt: Q/DQ with INT8 data and zero point 0, biases float. NVIDIA's
placement: Q/DQ on the inputs of every weighted layer (weights per output
channel, axis 0) and on the skip input of each residual Add, none between a Conv
and its activation, so TensorRT fuses conv + bias + ReLU + add. Checked on the
shipped egvsr-lite, calibrated on real frames, and run through ONNX Runtime.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.calibration.calibrators import collect_stats
from edgevsr.calibration.reader import read_calib_frames, record_steps
from edgevsr.quantize.int8 import (
    TARGETS,
    default_float_groups,
    float_decisions,
    layer_groups,
    quantize_qdq,
    quantized_groups,
)
from edgevsr.quantize.int8_trt import trt_qdq_problems


@pytest.fixture(scope="module")
def lite(fixtures, tmp_path_factory):
    from edgevsr.quantize.reference import load_reference

    proto, _, _ = load_reference("egvsr-lite", None, (32, 48))
    path = tmp_path_factory.mktemp("lite") / "lite.onnx"
    onnx.save(proto, str(path))
    frames = read_calib_frames(fixtures / "clip", 3, (32, 48))
    with OnnxRuntimeRunner(path) as r:
        steps = record_steps(r, frames)
    stats = collect_stats(proto, steps[:2], histograms=False)
    floats = set(default_float_groups(proto, layer_groups(proto)))
    return proto, steps, quantize_qdq(proto, stats.ranges("minmax"), floats), floats


def test_tensorrt_is_the_default_target():
    assert TARGETS[0] == "tensorrt"


def test_trt_form_obeys_the_parser_rules(lite):
    proto, _, q, floats = lite
    onnx.checker.check_model(q)
    assert trt_qdq_problems(q) == []
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    assert not any(a.dtype in (np.int32, np.uint8) for a in inits.values())  # no quantized bias, no uint8
    for n in q.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            assert inits[n.input[2]].dtype == np.int8 and not inits[n.input[2]].any(), n.name
    assert quantized_groups(q) == set(layer_groups(proto)) - floats


def test_every_int8_conv_is_fed_by_dq_and_every_residual_add_is_quantized(lite):
    proto, _, q, floats = lite
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    producer = {o: n for n in q.graph.node for o in n.output}
    float_convs, _ = float_decisions(proto, floats)
    convs = [n for n in q.graph.node if n.op_type == "Conv" and n.name not in float_convs]
    assert len(convs) >= 15
    for c in convs:
        act, w = producer[c.input[0]], producer[c.input[1]]
        assert act.op_type == "DequantizeLinear" and producer[act.input[0]].op_type == "QuantizeLinear", c.name
        assert w.op_type == "DequantizeLinear" and inits[w.input[0]].dtype == np.int8, c.name
        axis = next(a.i for a in w.attribute if a.name == "axis")
        assert axis == 0 and inits[w.input[1]].shape == (inits[w.input[0]].shape[0],), c.name  # per out channel
        assert len(c.input) < 3 or inits[c.input[2]].dtype == np.float32  # bias stays float
    # no Q/DQ between a conv and its activation (that would split the conv + bias + ReLU fusion)
    for n in q.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] in producer:
            assert producer[n.input[0]].op_type != "Conv", n.name
    int8_convs = {c.name for c in convs}
    adds = [n for n in q.graph.node if n.op_type == "Add"
            and any(i in producer and producer[i].name in int8_convs for i in n.input)]
    assert len(adds) == 5  # egvsr-lite's five residual blocks
    for a in adds:
        branch = [producer[i] for i in a.input]
        skip = [b for b in branch if b.name not in int8_convs]
        assert len(skip) == 1 and skip[0].op_type == "DequantizeLinear", a.name  # skip through Q/DQ
        # the same Q/DQ as the block's first conv reads: one scale for the tensor, so TensorRT fuses the add
        assert any(c.input[0] == skip[0].output[0] for c in convs), a.name


def test_trt_form_runs_in_onnx_runtime_close_to_fp32(lite):
    proto, steps, q, _ = lite

    def run(p):
        sess = ort.InferenceSession(p.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        return [sess.run(None, dict(zip(names, s)))[0] for s in steps]

    ref, got = run(proto), run(q)
    mse = np.mean([np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2) for a, b in zip(got, ref)])
    assert 30.0 < 10 * np.log10(1 / mse) < 80.0  # close to FP32, but really quantized
