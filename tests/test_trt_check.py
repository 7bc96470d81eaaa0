"""`edgevsr build --check` on every shipped model x precision: what TensorRT would do, with no GPU (issue 17)."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest

from edgevsr.deploy.trt_check import check_onnx
from edgevsr.models import build_model
from edgevsr.weights import shipped_weights

# the flow models (their warp is what these checks are about); the flow-free rrn has its own in test_rrn.py
MODELS = sorted({card.model for card in shipped_weights().values() if hasattr(build_model(card.model), "fnet")})


@pytest.fixture(scope="module", params=MODELS)
def exports(request, fixtures, tmp_path_factory):
    """FP32, FP16 and INT8 (TensorRT form and ONNX Runtime form) exports of one shipped model."""
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.calibration.calibrators import collect_stats
    from edgevsr.calibration.reader import read_calib_frames, record_steps
    from edgevsr.quantize import export as X
    from edgevsr.quantize.fp16 import convert_fp16
    from edgevsr.quantize.int8 import default_float_groups, layer_groups, quantize_qdq
    from edgevsr.quantize.reference import load_reference

    name = request.param
    d = tmp_path_factory.mktemp(name)
    proto, _, _ = load_reference(name, None, (32, 48))
    paths = {"fp32": d / "fp32.onnx"}
    onnx.save(proto, str(paths["fp32"]))
    with OnnxRuntimeRunner(paths["fp32"]) as r:
        steps = record_steps(r, read_calib_frames(fixtures / "clip", 2, (32, 48)))
    ranges = collect_stats(proto, steps[:1], histograms=False).ranges("minmax")
    floats = set(default_float_groups(proto, layer_groups(proto)))
    meta = {p.key: p.value for p in proto.metadata_props}
    for key, model in (("fp16", convert_fp16(proto)), ("int8", quantize_qdq(proto, ranges, floats)),
                       ("int8-ort", quantize_qdq(proto, ranges, floats, "onnxruntime"))):
        X.set_metadata(model, {**meta, X.PRECISION_KEY: key.split("-")[0]})
        paths[key] = d / f"{key}.onnx"
        onnx.save(model, str(paths[key]))
    return name, paths


@pytest.mark.parametrize("version", ["8.5.2", "8.6.2", "10.3", "11.1"])
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_shipped_exports_pass_the_check(exports, precision, version):
    _, paths = exports
    r = check_onnx(paths[precision], version)
    assert r.ok, r.refusal
    assert {n.op for n in r.nodes} >= {"Conv", "GridSample"}
    if precision == "int8":
        convs = [n for n in r.nodes if n.op == "Conv"]
        assert sum(n.precisions == "int8" for n in convs) >= 10
        assert any(n.precisions != "int8" for n in convs)  # the float decisions stay float
    if precision == "fp32" and version == "11.1":
        assert r.precision == "fp32"  # TensorRT 11 builds FP32 from an FP32 ONNX, nothing lower


def test_refusals_name_the_reason(exports, tmp_path):
    name, paths = exports
    r = check_onnx(paths["int8-ort"], "10.3")
    assert not r.ok and "ONNX Runtime form" in r.refusal and "--target tensorrt" in r.refusal
    assert "does not take explicit quantization" in check_onnx(paths["int8"], "8.6.2", dla=True).refusal
    dla = check_onnx(paths["fp16"], "10.3", dla=True)
    assert dla.ok, dla.refusal
    where = {n.op: n.dla for n in dla.nodes}
    assert where["Conv"] == "yes" and where["GridSample"].startswith("gpu")
    assert "has no DLA" in check_onnx(paths["fp16"], "11.1", dla=True).refusal
    assert "--calibration-cache" in check_onnx(paths["fp32"], "10.3", precision="int8").refusal
    assert "only builds reduced precision" in check_onnx(paths["fp32"], "11.1", precision="fp16").refusal


def test_check_cli_one_line_refusal_and_table(exports):
    _, paths = exports
    cmd = [sys.executable, "-m", "edgevsr.cli.main", "build", "--check"]
    ok = subprocess.run([*cmd, str(paths["int8"]), "--trt-version", "10.3"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "GridSample" in ok.stdout + ok.stderr and "explicit path (int8" in " ".join((ok.stdout + ok.stderr).split())
    bad = subprocess.run([*cmd, str(paths["int8-ort"]), "--trt-version", "10.3"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("edgevsr: error: ") and "ONNX Runtime form" in bad.stderr


def test_implicit_fp16_from_fp32_onnx_keeps_the_warp_in_fp32(exports):
    from edgevsr.deploy.trt_plan import BuildOptions, inspect_onnx, plan_build

    _, paths = exports
    facts = inspect_onnx(paths["fp32"])
    proto = onnx.load(str(paths["fp32"]))
    ops = {n.name: n.op_type for n in proto.graph.node}
    plan = plan_build("10.3.0", facts, BuildOptions(precision="fp16"))
    pinned = {ops[n] for n in plan.constrain_fp32}
    assert "GridSample" in pinned and "Tanh" in pinned and "OBEY_PRECISION_CONSTRAINTS" in plan.builder_flags
    convs = [n for n in plan.constrain_fp32 if ops[n] == "Conv"]
    assert len(convs) < sum(op == "Conv" for op in ops.values()) / 2  # the conv stacks still run FP16
