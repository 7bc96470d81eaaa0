"""INT8 Q/DQ and FP16 on a real trained model (VESPCN, published checkpoint) calibrated on real frames."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.calibration.calibrators import collect_stats
from edgevsr.calibration.reader import read_calib_frames, record_steps
from edgevsr.quantize.export import export_onnx
from edgevsr.quantize.fp16 import convert_fp16
from edgevsr.quantize.int8 import default_float_groups, group_of, layer_groups, quantize_qdq, quantized_groups
from edgevsr.quantize.sensitivity import plan_mixed_precision


@pytest.fixture(scope="module")
def vespcn(fixtures, tmp_path_factory):
    from edgevsr.weights import load_model

    model, _ = load_model("vespcn", fixtures / "pretrained" / "vespcn_ep0500.fp16.safetensors")
    path = tmp_path_factory.mktemp("v") / "vespcn.onnx"
    export_onnx(model, "vespcn", path, shape=(32, 48))  # fixed shape: 5x faster to export than dynamic
    frames = read_calib_frames(fixtures / "clip", 4, (32, 48))
    with OnnxRuntimeRunner(path) as r:
        steps = record_steps(r, frames)
    proto = onnx.load(str(path))
    return proto, steps, collect_stats(proto, steps[:2])


def _run(proto, steps):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: s[0]})[0] for s in steps]


def _psnr(a, b):
    mse = np.mean([np.mean((np.clip(x, 0, 1) - np.clip(y, 0, 1)) ** 2) for x, y in zip(a, b)])
    return 10 * np.log10(1.0 / max(mse, 1e-12))  # identical outputs: 120 dB, not a divide-by-zero warning


def test_group_names():
    assert group_of("srnet.resblocks.3.conv.0") == "srnet.resblocks.3"
    assert group_of("fnet.encoder1.0") == "fnet.encoder1"
    assert group_of("mc.coarse_flow.0.0") == "mc.coarse_flow"
    assert group_of("srnet.conv_out") == "srnet.conv_out"


def test_layer_groups_and_defaults(vespcn):
    proto, _, _ = vespcn
    groups = layer_groups(proto)
    assert list(groups) == ["mc.coarse_flow", "mc.fine_flow", "sr.entry", "sr.body.0", "sr.body.1", "sr.body.2",
                            "sr.conv", "sr.exit"]
    assert ("sr.conv.weight", 64, 1024) in groups["sr.conv"].convs
    defaults = default_float_groups(proto, groups)
    assert set(defaults) == {"mc.coarse_flow", "mc.fine_flow", "sr.entry", "sr.exit"}  # flow heads, 9->64, 64->3
    assert "flow head" in defaults["mc.fine_flow"] and "9->64" in defaults["sr.entry"]


@pytest.mark.parametrize("target", ["onnxruntime", "tensorrt"])
def test_int8_qdq_structure_and_quality(vespcn, target):
    proto, steps, stats = vespcn
    floats = {"sr.entry", "sr.exit", "mc.coarse_flow"}
    q = quantize_qdq(proto, stats.ranges("entropy"), floats, target)
    onnx.checker.check_model(q)
    assert quantized_groups(q) == {"mc.fine_flow", "sr.body.0", "sr.body.1", "sr.body.2", "sr.conv"}
    inits = {i.name: i for i in q.graph.initializer}
    dq = {n.output[0]: n for n in q.graph.node if n.op_type == "DequantizeLinear"}
    convs = {n.input[1]: n for n in q.graph.node if n.op_type == "Conv"}
    # per-channel symmetric int8 weights: one scale per output channel, zero points 0
    w = dq[[k for k in convs if k in dq and "sr.conv" in k][0]]
    assert numpy_helper.to_array(inits[w.input[0]]).dtype == np.int8
    assert numpy_helper.to_array(inits[w.input[1]]).shape == (1024,)
    assert not numpy_helper.to_array(inits[w.input[2]]).any()
    assert "sr.exit.weight" in convs and "sr.exit.weight" not in dq  # float group untouched
    act_q = [n for n in q.graph.node if n.op_type == "QuantizeLinear"]
    zp_types = {numpy_helper.to_array(inits[n.input[2]]).dtype for n in act_q}
    if target == "tensorrt":  # symmetric int8, zero point 0, no int32 bias
        assert zp_types == {np.dtype(np.int8)}
        assert all(not numpy_helper.to_array(inits[n.input[2]]).any() for n in act_q)
        assert not any(i.data_type == onnx.TensorProto.INT32 for i in q.graph.initializer)
    else:
        assert zp_types == {np.dtype(np.uint8)}
    ref = _run(proto, steps)
    got = _run(q, steps)
    assert 35.0 < _psnr(got, ref) < 80.0  # close to FP32, but really quantized


def test_fp16_keeps_io_fp32_and_matches(vespcn):
    proto, steps, _ = vespcn
    half = convert_fp16(proto)
    onnx.checker.check_model(half)
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert half.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    types = {i.name: i.data_type for i in half.graph.initializer}
    assert types["sr.conv.weight"] == onnx.TensorProto.FLOAT16
    grid = [n for n in half.graph.node if n.op_type == "GridSample"]
    assert grid and all(not i.endswith("__to_fp16") for n in grid for i in n.input)  # warp runs in FP32
    assert _psnr(_run(half, steps), _run(proto, steps)) > 50.0


def test_mixed_precision_plan_logic():
    groups = ["a", "b", "c", "d"]
    sens = {"a": 60.0, "b": 30.0, "c": 50.0, "d": 45.0}
    calls = []

    def check(floats):
        calls.append(set(floats))
        return "b" in floats, {}

    plan = plan_mixed_precision(groups, {"a": "first conv"}, sens, check)
    assert plan.passed and set(plan.float_groups) == {"b"}  # budget fixed by b, then a measured back to INT8
    assert "a" in plan.int8_notes and "measured" in plan.float_groups["b"]
    assert calls[0] == {"a"}
    never = plan_mixed_precision(groups, {}, sens, lambda f: (False, {}), max_float=2)
    assert not never.passed and set(never.float_groups) == {"b", "d"}  # the two most sensitive, then stop
