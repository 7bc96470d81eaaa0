"""Picture inputs get their INT8 range from the model contract ([0, 1]), not from calibration.

Every edgevsr model declares which graph inputs carry pictures (``picture_inputs``, RGB in [0, 1]); the
quantizer gives those exactly [0, 1] in both Q/DQ forms: TensorRT (symmetric, amax 1.0, scale 1/127) and ONNX
Runtime (uint8, scale 1/255, zero point 0). Checked on rrn-lite with every layer INT8, where ``lr_curr`` (the
skip convs) and ``hr_prev`` (the fold conv) are read by INT8 convs, calibrated on frames that never reach 1.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from conftest import moving_clip
from onnx import numpy_helper

from edgevsr.models import build_model
from edgevsr.models.base import VSRModel
from edgevsr.models.spec import ModelSpec

PICTURES = ("lr_curr", "hr_prev")  # the picture inputs rrn reads with a convolution


@pytest.fixture(scope="module")
def rrn(tmp_path_factory):
    """(FP32 proto, ranges calibrated on dark frames, ranges calibrated on half-bright frames)."""
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.calibration.calibrators import collect_stats
    from edgevsr.calibration.reader import record_steps
    from edgevsr.quantize import export as X
    from edgevsr.quantize.optimize import resize_to_conv

    torch.manual_seed(0)
    net = build_model("rrn-lite")
    proto, _ = resize_to_conv(X.to_onnx(net, (32, 48)))
    X.set_metadata(proto, X.edgevsr_metadata(net, "rrn-lite", "fp32"))
    path = tmp_path_factory.mktemp("rrn") / "fp32.onnx"
    onnx.save(proto, str(path))
    frames = moving_clip(3, 32, 48)
    ranges = []
    for gain in (0.3, 0.6):  # calibration frames at most 30 % / 60 % bright: entropy or minmax would follow
        dim = [np.round(f.astype(np.float32) * gain).astype(f.dtype) for f in frames]
        with OnnxRuntimeRunner(path) as r:
            steps = record_steps(r, dim)
        ranges.append(collect_stats(proto, steps, histograms=False).ranges("minmax"))
    return proto, ranges


def _input_qdq(q, name: str) -> tuple[float, int]:
    """(scale, zero point) of the QuantizeLinear that reads graph input ``name``."""
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    qs = [n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == name]
    assert len(qs) == 1, f"{name}: {len(qs)} QuantizeLinear nodes"
    return float(inits[qs[0].input[1]]), int(inits[qs[0].input[2]])


def test_calibration_did_not_reach_one(rrn):
    """The premise: calibration alone would give these inputs a range well under 1 (so the rule is seen)."""
    _, ranges = rrn
    for r in ranges:
        assert all(max(abs(v) for v in r[n]) < 0.7 for n in PICTURES)


@pytest.mark.parametrize("target, scale, zero_point", [("tensorrt", 1 / 127, 0), ("onnxruntime", 1 / 255, 0)])
def test_picture_input_scale_comes_from_the_contract(rrn, target, scale, zero_point):
    from edgevsr.quantize.int8 import picture_inputs, quantize_qdq

    proto, ranges = rrn
    assert set(PICTURES) <= set(picture_inputs(proto))
    for r in ranges:  # two calibrations, one scale
        q = quantize_qdq(proto, r, set(), target)
        for name in PICTURES:
            s, zp = _input_qdq(q, name)
            assert s == pytest.approx(scale, rel=1e-6) and zp == zero_point, (target, name, s, zp)
    off = quantize_qdq(proto, ranges[0], set(), target, picture_range=False)  # the rule off: calibration decides
    assert _input_qdq(off, "lr_curr")[0] < 0.5 * scale


def test_contract_ranges_set_only_the_picture_inputs(rrn):
    """What ``quantize_model`` uses (also for the implicit-TensorRT calibration cache): pictures at [0, 1]."""
    from edgevsr.quantize.int8 import contract_ranges

    proto, ranges = rrn
    fixed = contract_ranges(proto, ranges[0])
    assert all(fixed[n] == (0.0, 1.0) for n in PICTURES)
    assert {k: v for k, v in fixed.items() if k not in ("lr_curr", "lr_prev", "hr_prev")} == {
        k: v for k, v in ranges[0].items() if k not in ("lr_curr", "lr_prev", "hr_prev")}


def test_picture_inputs_are_declared_and_recorded():
    for name in ("rrn", "egvsr-lite", "espcn", "vespcn", "sofvsr", "bicubic"):
        net = build_model(name)
        spec = ModelSpec.of(net, name)
        assert spec.picture_inputs and set(spec.picture_inputs) <= set(spec.input_names)
        assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    old = ModelSpec("egvsr", "recurrent").to_dict()
    del old["picture_inputs"]  # an export made before the declaration: every input, the contract then too
    assert ModelSpec.from_dict(old).picture_inputs == ("lr_curr", "lr_prev", "hr_prev")


def test_renamed_inputs_must_be_declared_again():
    with pytest.raises(TypeError, match="picture_inputs"):
        type("Renamed", (VSRModel,), {"input_names": ("frames",)})
