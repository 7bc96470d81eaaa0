"""Engine building logic that runs without TensorRT: shape profiles, ONNX inspection, path selection per version."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgevsr.backends.tensorrt.engine_record import DEFAULT_PROFILE, ShapeProfile, input_shapes, parse_size
from edgevsr.deploy.trt_plan import (
    BuildOptions,
    calibration_cache_kind,
    inspect_onnx,
    layer_matches,
    plan_build,
    rebuild_command,
)
from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
SPEC = ModelSpec("tiny", "single", input_names=("lr",), output_names=("hr",))


def _save(path, nodes, inits, meta: dict, out_type=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("hr", out_type, [1, 3, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    for k, v in {"edgevsr.spec": json.dumps(SPEC.to_dict()), **meta}.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def qdq_onnx(path):
    """Conv through Q/DQ (quantized), then a Conv left in float, then GridSample: a quantizer's typical output."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.float32(0.02), "s"), numpy_helper.from_array(np.int8(0), "zp"),
             numpy_helper.from_array(rng.integers(-5, 5, (3, 3, 3, 3)).astype(np.int8), "w_q"),
             numpy_helper.from_array(rng.standard_normal((3, 3, 3, 3)).astype(np.float32), "w_f"),
             numpy_helper.from_array(np.zeros((1, 8, 8, 2), np.float32), "grid")]
    nodes = [helper.make_node("QuantizeLinear", ["lr", "s", "zp"], ["lr_q"], name="q_in"),
             helper.make_node("DequantizeLinear", ["lr_q", "s", "zp"], ["lr_dq"], name="dq_in"),
             helper.make_node("DequantizeLinear", ["w_q", "s", "zp"], ["w_dq"], name="dq_w"),
             helper.make_node("Conv", ["lr_dq", "w_dq"], ["a"], name="/srnet/conv_in/Conv", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w_f"], ["b"], name="/srnet/conv_out/Conv", pads=[1, 1, 1, 1]),
             helper.make_node("GridSample", ["b", "grid"], ["hr"], name="/warp/GridSample")]
    return _save(path, nodes, inits, {"edgevsr.precision": "int8"})


@pytest.fixture(scope="module")
def qdq(tmp_path_factory):
    return inspect_onnx(qdq_onnx(tmp_path_factory.mktemp("onnx") / "qdq.onnx"))


@pytest.fixture(scope="module")
def fp32(qdq):
    return dataclasses.replace(qdq, precision="fp32", float_nodes=())


# shape profiles ------------------------------------------------------------------------------------
def test_shape_profile_validation():
    p = ShapeProfile.parse("480x272", "960x544", "1920x1080")
    assert p.contains(480, 272) and p.contains(1920, 1080)
    assert not p.contains(1928, 1080) and not p.contains(472, 272)
    with pytest.raises(EdgeVSRError, match="--min 480x270: .*multiples of 8"):
        ShapeProfile.parse("480x270", "960x544", "1920x1080")
    with pytest.raises(EdgeVSRError, match="height must satisfy min <= opt <= max"):
        ShapeProfile.parse("480x272", "960x1088", "1920x1080")
    with pytest.raises(EdgeVSRError, match="expected WIDTHxHEIGHT"):
        parse_size("big", "max")
    with pytest.raises(EdgeVSRError, match=r"m.engine: padded LR input 1928x1080 is outside .* rebuild"):
        p.check(1928, 1080, "m.engine")
    assert ShapeProfile.parse("8x8", "8x8", "8x8", multiple=8).is_static


def test_input_shapes_follow_the_spec():
    rec = ModelSpec("egvsr", "recurrent")
    assert input_shapes(rec, (480, 272)) == {"lr_curr": (1, 3, 272, 480), "lr_prev": (1, 3, 272, 480),
                                             "hr_prev": (1, 3, 1088, 1920)}
    win = ModelSpec("vespcn", "windowed", window=3, input_names=("lr_window",), output_names=("hr",))
    assert input_shapes(win, (64, 32)) == {"lr_window": (1, 9, 32, 64)}


# ONNX inspection -----------------------------------------------------------------------------------
def test_inspect_qdq_onnx_finds_float_layers(qdq):
    assert qdq.precision == "int8" and qdq.spec == SPEC
    assert qdq.float_nodes == ("/srnet/conv_out/Conv",)  # conv_in is quantized, conv_out stayed float
    assert qdq.grid_sample_nodes == ("/warp/GridSample",)
    assert len(qdq.sha256) == 64 and qdq.metadata_precision == "int8"


def test_inspect_fp16_and_listed_float_nodes(tmp_path):
    w = numpy_helper.from_array(np.ones((3, 3, 1, 1), np.float32), "w")
    nodes = [helper.make_node("Conv", ["lr", "w"], ["a"], name="c0"),
             helper.make_node("Cast", ["a"], ["hr"], name="to_half", to=TensorProto.FLOAT16)]
    facts = inspect_onnx(_save(tmp_path / "h.onnx", nodes, [w], {}, out_type=TensorProto.FLOAT16))
    assert facts.precision == "fp16" and facts.float_nodes == ()
    nodes = [helper.make_node("Conv", ["lr", "w"], ["hr"], name="c0")]
    facts = inspect_onnx(_save(tmp_path / "f.onnx", nodes, [w], {"edgevsr.float_nodes": '["c0"]'}))
    assert facts.precision == "fp32" and facts.float_nodes == ("c0",)
    _save(tmp_path / "bad.onnx", nodes, [w], {"edgevsr.float_nodes": "c0"})
    with pytest.raises(EdgeVSRError, match="not a JSON list"):
        inspect_onnx(tmp_path / "bad.onnx")


def test_inspect_refuses_foreign_onnx(tmp_path):
    path = tmp_path / "plain.onnx"
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(EdgeVSRError, match="not an edgevsr export"):
        inspect_onnx(path)


def test_default_profile_covers_the_cli_defaults():
    from edgevsr.edge.sources import TestPatternSource

    src = TestPatternSource()  # `edgevsr run` default source, padded to the size multiple
    padded = (src.width + (-src.width) % 8, src.height + (-src.height) % 8)
    assert DEFAULT_PROFILE.contains(*padded), padded
    assert DEFAULT_PROFILE.contains(240, 136)  # `edgevsr profile --size` default
    DEFAULT_PROFILE.validate(8)


def test_layer_name_matching_is_exact_with_current_exporter_names():
    # the exporter names convs node_conv2d, node_conv2d_1, ...: "node_conv2d_1" + "_" prefixes node_conv2d_10..19
    names = ["node_conv2d"] + [f"node_conv2d_{i}" for i in range(1, 30)]
    floats = {"node_conv2d", "node_conv2d_1", "node_conv2d_26"}
    pinned = [n for n in names if layer_matches(n, floats)]
    assert sorted(pinned) == sorted(floats)


# path selection by TensorRT version (the real tensorrt module is not needed) -------------------------
def test_qdq_onnx_is_explicit_on_trt10_and_11(qdq):
    for version in ("10.3.0", "11.0.0.10"):
        plan = plan_build(version, qdq, BuildOptions())
        assert (plan.path, plan.precision, plan.network_flags, plan.builder_flags) == \
            ("explicit", "int8", ["STRONGLY_TYPED"], [])
        assert plan.constrain_fp32 == ()  # strongly typed: the graph's own types keep conv_out in float


def test_qdq_onnx_on_weakly_typed_paths_pins_float_layers(qdq):
    plan = plan_build("10.3.0", qdq, BuildOptions(path="implicit"))
    assert plan.path == "implicit" and plan.builder_flags == ["INT8", "FP16", "OBEY_PRECISION_CONSTRAINTS"]
    assert plan.constrain_fp32 == ("/srnet/conv_out/Conv",) and plan.network_flags == []
    old = plan_build("8.6.1", qdq, BuildOptions())  # JetPack 5: no strong typing yet
    assert old.path == "implicit" and old.network_flags == ["EXPLICIT_BATCH"] and "INT8" in old.builder_flags


def test_fp32_onnx_precision_flags_only_where_they_exist(fp32, tmp_path):
    plan = plan_build("10.3.0", fp32, BuildOptions(precision="fp16"))
    assert (plan.path, plan.builder_flags) == ("implicit", ["FP16"])
    with pytest.raises(EdgeVSRError, match=r"11.0 only builds .* `edgevsr quantize tiny --fp16 -o .*-fp16.onnx`"):
        plan_build("11.0", fp32, BuildOptions(precision="fp16"))
    with pytest.raises(EdgeVSRError, match="with --path explicit builds"):
        plan_build("10.3", fp32, BuildOptions(precision="fp16", path="explicit"))
    same = plan_build("11.0", fp32, BuildOptions())
    assert same.path == "explicit" and same.precision == "fp32" and same.cleared_flags == ["TF32"]


def test_implicit_int8_needs_the_calibration_cache(fp32, tmp_path):
    with pytest.raises(EdgeVSRError, match="implicit INT8 needs --calibration-cache"):
        plan_build("10.3.0", fp32, BuildOptions(precision="int8"))
    with pytest.raises(EdgeVSRError, match="not found: .*missing.cache"):
        plan_build("10.3.0", fp32, BuildOptions(precision="int8", calibration_cache=tmp_path / "missing.cache"))
    cache = tmp_path / "calib.cache"
    cache.write_text("TRT-100300-EntropyCalibration2\nlr: 3c010a14\n")
    listed = dataclasses.replace(fp32, float_nodes=("/srnet/conv_out/Conv",))
    plan = plan_build("10.3.0", listed, BuildOptions(precision="int8", calibration_cache=cache))
    assert plan.builder_flags == ["INT8", "FP16", "OBEY_PRECISION_CONSTRAINTS"]
    assert plan.calibration_cache == cache and plan.constrain_fp32 == ("/srnet/conv_out/Conv",)
    assert any("deprecated since TensorRT 10.1" in n for n in plan.notes)
    old = tmp_path / "calib-10.0.cache"
    old.write_text("TRT-100001-EntropyCalibration2\nlr: 3c010a14\n")
    assert not any("deprecated" in n for n in plan_build("10.0.1", fp32, BuildOptions(
        precision="int8", calibration_cache=old)).notes)
    with pytest.raises(EdgeVSRError, match="cache is for TensorRT 10.0.1, this is 10.3.0; rewrite it"):
        plan_build("10.3.0", fp32, BuildOptions(precision="int8", calibration_cache=old))
    with pytest.raises(EdgeVSRError, match="cache is for TensorRT 10.3.0, this is 8.6.2"):
        plan_build("8.6.2", fp32, BuildOptions(precision="int8", calibration_cache=cache))


def test_implicit_int8_pins_exactly_the_quantizer_float_decisions(fp32, tmp_path):
    from edgevsr.calibration.trt_cache import write_cache

    cache = write_cache(tmp_path / "c.cache", {"lr": 1.0}, "10.3.0", float_nodes=["/srnet/conv_out/Conv"])
    plan = plan_build("10.3.0", fp32, BuildOptions(precision="int8", calibration_cache=cache))
    assert plan.constrain_fp32 == ("/srnet/conv_out/Conv",) and "OBEY_PRECISION_CONSTRAINTS" in plan.builder_flags
    bare = tmp_path / "bare.cache"
    bare.write_text(cache.read_text())
    plan = plan_build("10.3.0", fp32, BuildOptions(precision="int8", calibration_cache=bare))
    assert plan.constrain_fp32 == () and any("no float decisions" in n for n in plan.notes)
    with pytest.raises(EdgeVSRError, match="only builds reduced precision"):
        plan_build("11.1.0", fp32, BuildOptions(precision="int8", calibration_cache=cache))


def test_path_and_precision_conflicts(qdq, fp32):
    with pytest.raises(EdgeVSRError, match="--path implicit: TensorRT 11.0.0 removed"):
        plan_build("11.0.0", fp32, BuildOptions(path="implicit"))
    with pytest.raises(EdgeVSRError, match="--path explicit needs TensorRT 10"):
        plan_build("8.6.1", fp32, BuildOptions(path="explicit"))
    with pytest.raises(EdgeVSRError, match="carries INT8 Q/DQ nodes; build it with --precision int8"):
        plan_build("10.3.0", qdq, BuildOptions(precision="fp16"))
    with pytest.raises(EdgeVSRError, match="too old"):
        plan_build("8.4.3", fp32, BuildOptions())
    with pytest.raises(EdgeVSRError, match="cannot read TensorRT version"):
        plan_build("unknown", fp32, BuildOptions())


def test_dla_plan(qdq, fp32):
    static = ShapeProfile((480, 272), (480, 272), (480, 272))
    plan = plan_build("10.3.0", qdq, BuildOptions(dla_core=0, profile=static))
    assert "GPU_FALLBACK" in plan.builder_flags and plan.gpu_only_nodes == ("/warp/GridSample",)
    with pytest.raises(EdgeVSRError, match="one fixed input size"):
        plan_build("10.3.0", qdq, BuildOptions(dla_core=0))
    with pytest.raises(EdgeVSRError, match="FP16 or INT8 only"):
        plan_build("10.3.0", fp32, BuildOptions(dla_core=0, profile=static))
    with pytest.raises(EdgeVSRError, match="has no DLA .* use JetPack 6"):
        plan_build("11.0.0", qdq, BuildOptions(dla_core=1, profile=static))
    plan = plan_build("11.4.1", qdq, BuildOptions(dla_core=0, profile=static))  # 11.4.1 restores the DLA
    assert "GPU_FALLBACK" in plan.builder_flags
    with pytest.raises(EdgeVSRError, match="does not take explicit quantization"):
        plan_build("8.6.2", qdq, BuildOptions(dla_core=0, profile=static, path="implicit"))


def test_calibration_cache_kind_and_rebuild_command(qdq, tmp_path):
    assert calibration_cache_kind(b"TRT-100300-EntropyCalibration2\nx: 1\n") == "EntropyCalibration2"
    assert calibration_cache_kind(b"TRT-8601-MinMaxCalibration\n") == "MinMaxCalibration"
    with pytest.raises(EdgeVSRError, match="not a TensorRT entropy/minmax cache"):
        calibration_cache_kind(b"hello")
    plan = plan_build("10.3.0", qdq, BuildOptions())
    cmd = rebuild_command(qdq.path, tmp_path / "q.engine", plan, BuildOptions())
    assert cmd.startswith(f"edgevsr build {qdq.path} -o {tmp_path / 'q.engine'} --precision int8 --path explicit")
    assert "--min 240x136 --opt 960x544 --max 1920x1080" in cmd
    opts = BuildOptions(opt_level=4, timing_cache=tmp_path / "t.cache")  # both change the cache key
    cmd = rebuild_command(qdq.path, tmp_path / "q.engine", plan, opts)
    assert cmd.endswith(f"--opt-level 4 --timing-cache {tmp_path / 't.cache'}")


def test_opt_level_is_gated_by_version(qdq):
    with pytest.raises(EdgeVSRError, match="TensorRT 8.5.2 has no builder optimization level"):
        plan_build("8.5.2", qdq, BuildOptions(opt_level=3, path="implicit"))
    assert plan_build("8.6.1", qdq, BuildOptions(opt_level=3, path="implicit")).path == "implicit"
    with pytest.raises(EdgeVSRError, match="0..5"):
        plan_build("10.3.0", qdq, BuildOptions(opt_level=7))


def test_onnxruntime_form_qdq_is_refused(tmp_path):
    inits = [numpy_helper.from_array(np.float32(0.02), "s"), numpy_helper.from_array(np.uint8(128), "zp")]
    nodes = [helper.make_node("QuantizeLinear", ["lr", "s", "zp"], ["q"], name="q_in"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["hr"], name="dq_in")]
    facts = inspect_onnx(_save(tmp_path / "u8.onnx", nodes, inits, {}))
    assert facts.qdq_problems and "uint8 zero point" in facts.qdq_problems[0]
    with pytest.raises(EdgeVSRError, match="ONNX Runtime form.*--target tensorrt"):
        plan_build("10.3.0", facts, BuildOptions())


# missing TensorRT ----------------------------------------------------------------------------------
@pytest.mark.skipif(HAS_TRT, reason="tensorrt is installed here")
def test_missing_tensorrt_names_the_extra_and_the_alternatives(tmp_path):
    from edgevsr.backends.registry import make_runner, runner_config

    with pytest.raises(EdgeVSRError) as exc:
        make_runner(runner_config(backend="tensorrt", onnx=tmp_path / "m.engine"))
    msg = str(exc.value)
    assert "pip install 'edgevsr[tensorrt]'" in msg and "Available backends here: torch, onnxruntime" in msg


def test_build_cli_dry_run_and_one_line_errors(tmp_path):
    path = qdq_onnx(tmp_path / "q.onnx")
    cmd = [sys.executable, "-m", "edgevsr.cli.main", "build", str(path), "--dry-run"]
    ok = subprocess.run([*cmd, "--trt-version", "10.3.0", "--path", "implicit"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "implicit path (int8; flags: INT8, FP16, OBEY_PRECISION_CONSTRAINTS)" in " ".join(ok.stderr.split())
    bad = subprocess.run([*cmd, "--trt-version", "10.3.0", "--max", "1921x1080"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("edgevsr: error: --max 1921x1080")


def test_onnxruntime_providers():
    import onnxruntime as ort

    from edgevsr.backends.onnxruntime.loader import providers_for as ort_providers

    assert ort_providers("cpu") == ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert ort_providers("cuda")[-1] == "CPUExecutionProvider" and len(ort_providers("cuda")) >= 2
    else:
        with pytest.raises(EdgeVSRError, match="install onnxruntime-gpu"):
            ort_providers("cuda")
