"""The TensorRT findings of the second review (issue 24) that need no TensorRT: plans, pins and --check tables.

Runs on real exports of egvsr-lite (FP32, FP16, INT8 TensorRT form; dynamic H/W as `edgevsr quantize` makes
them), built here without calibration data (min/max ranges of one random step give the graph's structure).
"""

from __future__ import annotations

import onnx
import pytest

from edgevsr.deploy.trt_check import DLA_LOADABLES, check_onnx
from edgevsr.deploy.trt_plan import (
    BuildOptions,
    elem_types,
    has_dla,
    inspect_onnx,
    parse_version3,
    pinnable_outputs,
    plan_build,
)
from edgevsr.errors import EdgeVSRError


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    import numpy as np

    from edgevsr.calibration.calibrators import collect_stats
    from edgevsr.quantize import export as X
    from edgevsr.quantize.fp16 import convert_fp16
    from edgevsr.quantize.int8 import default_float_groups, layer_groups, quantize_qdq
    from edgevsr.quantize.reference import load_reference

    d = tmp_path_factory.mktemp("lite")
    proto, _, _ = load_reference("egvsr-lite", None, None)  # dynamic H/W, as `edgevsr quantize` exports
    meta = {p.key: p.value for p in proto.metadata_props}
    paths = {"fp32": d / "fp32.onnx"}
    onnx.save(proto, str(paths["fp32"]))
    rng = np.random.default_rng(0)
    shapes = {"lr_curr": (1, 3, 32, 48), "lr_prev": (1, 3, 32, 48), "hr_prev": (1, 3, 128, 192)}
    step = tuple(rng.random(shapes[i.name], dtype=np.float32) for i in proto.graph.input)
    ranges = collect_stats(proto, [step], histograms=False).ranges("minmax")
    floats = set(default_float_groups(proto, layer_groups(proto)))
    for key, model in (("fp16", convert_fp16(proto)), ("int8", quantize_qdq(proto, ranges, floats))):
        X.set_metadata(model, {**meta, X.PRECISION_KEY: key})
        paths[key] = d / f"{key}.onnx"
        onnx.save(model, str(paths[key]))
    return paths


def _ops(path) -> dict[str, str]:
    return {n.name: n.op_type for n in onnx.load(str(path)).graph.node}


def test_finding1_fp16_onnx_on_the_implicit_path_pins_grid_and_warp(exports):
    facts = inspect_onnx(exports["fp16"])
    ops = _ops(exports["fp16"])
    for version, path in (("8.6.2", "auto"), ("10.3.0", "implicit")):
        plan = plan_build(version, facts, BuildOptions(path=path))
        assert plan.path == "implicit" and "FP16" in plan.builder_flags
        pinned = {ops[n] for n in plan.constrain_fp32}
        assert {"GridSample", "Tanh"} <= pinned and "OBEY_PRECISION_CONSTRAINTS" in plan.builder_flags
        convs = [n for n in ops if ops[n] == "Conv"]
        assert len([n for n in plan.constrain_fp32 if ops[n] == "Conv"]) < len(convs) / 2  # FP16 convs stay FP16
    explicit = plan_build("10.3.0", facts, BuildOptions())
    assert explicit.network_flags == ["STRONGLY_TYPED"] and not explicit.constrain_fp32  # typed by the graph


def test_finding3_shape_arithmetic_is_never_pinned(exports):
    proto = onnx.load(str(exports["fp32"]))
    types = elem_types(proto)
    int_nodes = {n.name for n in proto.graph.node
                 if n.output and all(types.get(o) in (6, 7) for o in n.output)}  # INT32 / INT64
    assert int_nodes, "the export has shape arithmetic (sym_size, Concat, Sub on INT64)"
    facts = inspect_onnx(exports["fp32"])
    plan = plan_build("8.6.2", facts, BuildOptions(precision="fp16"))
    assert plan.constrain_fp32 and not set(plan.constrain_fp32) & int_nodes
    assert int_nodes <= set(facts.shape_nodes)
    # the builder's side: only float, non-shape outputs take an output type
    assert pinnable_outputs(["FLOAT", "INT64", "HALF"], [False, True, False]) == [0, 2]
    assert pinnable_outputs(["INT64"], [True]) == [] and pinnable_outputs(["FLOAT"], [True]) == []


def test_finding6_weakly_typed_int8_sets_fp16_too_and_strongly_typed_says_fp32(exports):
    facts = inspect_onnx(exports["int8"])
    plan = plan_build("8.6.2", facts, BuildOptions())
    assert plan.path == "implicit" and {"INT8", "FP16"} <= set(plan.builder_flags)
    strong = plan_build("10.3.0", facts, BuildOptions())
    note = next(n for n in strong.notes if n.startswith("strongly typed INT8"))
    assert f"the {len(facts.float_nodes)} float compute layers" in note and "--path implicit runs them FP16" in note
    assert "no implicit path" in next(n for n in plan_build("11.1", facts, BuildOptions()).notes
                                      if n.startswith("strongly typed INT8"))


def test_finding7_check_dla_counts_subgraphs_and_gpu_layers(exports):
    r = check_onnx(exports["fp16"], "10.3", dla=True)
    assert r.ok, r.refusal
    assert r.dla_subgraphs is not None and r.dla_subgraphs >= 1 and r.gpu_layers > 0
    note = next(n for n in r.notes if n.startswith("DLA (estimated"))
    assert f"{r.dla_subgraphs} DLA subgraphs" in note and f"{r.gpu_layers} layers on the GPU" in note
    if r.dla_subgraphs > DLA_LOADABLES:
        assert "loadables a DLA core holds" in note
    assert check_onnx(exports["fp16"], "10.3").dla_subgraphs is None


def test_finding9_small_ones(exports):
    # the DLA is gone from TensorRT 10.8 to 11.4.0
    assert parse_version3("10.3.0.30") == (10, 3, 0) and parse_version3("11.4") == (11, 4, 0)
    assert has_dla("10.3.0") and has_dla("10.7.0") and has_dla("11.4.1")
    assert not has_dla("10.8.0") and not has_dla("11.1") and not has_dla("11.4.0")
    facts = inspect_onnx(exports["fp16"])
    with pytest.raises(EdgeVSRError, match="has no DLA"):
        plan_build("10.8.0", facts, BuildOptions(dla_core=0, profile=_static()))
    assert "has no DLA" in check_onnx(exports["fp16"], "11.4.0", dla=True).refusal
    assert check_onnx(exports["fp16"], "11.4.1", dla=True).refusal is None or \
        "has no DLA" not in check_onnx(exports["fp16"], "11.4.1", dla=True).refusal
    # INT64 shape operations are labelled as such, not fp32
    table = {n.name: n.precisions for n in check_onnx(exports["fp32"], "10.3").nodes}
    shape = set(inspect_onnx(exports["fp32"]).shape_nodes) & set(table)
    assert shape and all(table[n].startswith("int64") for n in shape)
    assert not any(p.startswith("int64") for n, p in table.items() if n not in shape)


def _static():
    from edgevsr.backends.tensorrt.engine_record import ShapeProfile

    return ShapeProfile((48, 32), (48, 32), (48, 32))


@pytest.mark.parametrize("model", ["rrn-lite", "egvsr-lite"])
def test_finding7_fp16_form_keeps_residual_adds_on_the_dla_at_equal_quality(model, tmp_path):
    """The FP16 closure (adds / ReLUs fed only by FP16 nodes run FP16) removes the casts that split the DLA."""
    import numpy as np
    import onnxruntime as ort

    import edgevsr.quantize.fp16 as F
    from edgevsr.quantize import export as X
    from edgevsr.quantize.reference import load_reference

    proto, _, _ = load_reference(model, None, (64, 96), allow_random=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert F.fp16_nodes(proto, closure=False) < F.fp16_nodes(proto)
    paths = {}
    for key, graph in (("fp32", proto), ("fp16", F.convert_fp16(proto))):
        X.set_metadata(graph, {**meta, X.PRECISION_KEY: key})
        paths[key] = tmp_path / f"{key}.onnx"
        onnx.save(graph, str(paths[key]))
    r = check_onnx(paths["fp16"], "10.3", dla=True)
    assert r.ok and r.dla_subgraphs <= DLA_LOADABLES
    if model == "rrn-lite":  # built for the DLA: one or two subgraphs, a handful of GPU layers (was 15 / 43)
        assert r.dla_subgraphs <= 3 and r.gpu_layers <= 10
    rng = np.random.default_rng(1)
    shapes = {"lr_curr": (1, 3, 64, 96), "lr_prev": (1, 3, 64, 96), "hr_prev": (1, 3, 256, 384)}
    feed = {n: rng.random(s, dtype=np.float32) for n, s in shapes.items()}
    out = {k: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feed)[0]
           for k, p in paths.items()}
    psnr = 10 * np.log10(1.0 / np.mean((out["fp16"] - out["fp32"]) ** 2))
    assert psnr > 60, psnr  # measured 80-82 dB, as without the closure


def test_finding6_int8_form_on_the_fp16_graph(exports, tmp_path):
    """The INT8 deploy form written on the FP16 graph: convs still INT8 (fed by DQ), float parts FP16, same quality."""
    import numpy as np
    import onnxruntime as ort

    from edgevsr.quantize import export as X
    from edgevsr.quantize.int8_fp16 import FP16_FLOATS_KEY, int8_on_fp16

    fp32, qdq = onnx.load(str(exports["fp32"])), onnx.load(str(exports["int8"]))
    half = int8_on_fp16(qdq, fp32)
    X.set_metadata(half, {FP16_FLOATS_KEY: "fp16"})
    path = tmp_path / "int8-fp16.onnx"
    onnx.save(half, str(path))
    types = elem_types(half)
    convs = [n for n in half.graph.node if n.op_type == "Conv"]
    before = sum(elem_types(qdq).get(n.output[0]) == onnx.TensorProto.FLOAT for n in qdq.graph.node
                 if n.op_type == "Conv")
    fp32_convs = sum(types.get(n.output[0]) == onnx.TensorProto.FLOAT for n in convs)
    assert before == len(convs) and fp32_convs <= len(convs) // 4  # measured 31 -> 4 (flow head, conv_out)
    ops = {n.name: n.op_type for n in half.graph.node}
    assert all(types.get(n.output[0]) == onnx.TensorProto.FLOAT for n in half.graph.node
               if ops[n.name] == "GridSample")  # the warp stays FP32
    facts = inspect_onnx(path)
    assert facts.precision == "int8" and facts.int8_fp16_floats
    r = check_onnx(path, "10.3")
    assert r.ok, r.refusal
    assert sum(n.precisions == "int8" for n in r.nodes if n.op == "Conv") == \
        sum(n.precisions == "int8" for n in check_onnx(exports["int8"], "10.3").nodes if n.op == "Conv")
    assert any("float parts run FP16" in n for n in plan_build("10.3.0", facts, BuildOptions()).notes)
    with pytest.raises(EdgeVSRError, match="FP16 Q/DQ scales, which need TensorRT 10"):
        plan_build("8.6.2", facts, BuildOptions())
    rng = np.random.default_rng(2)
    shapes = {"lr_curr": (1, 3, 64, 96), "lr_prev": (1, 3, 64, 96), "hr_prev": (1, 3, 256, 384)}
    feed = {n: rng.random(s, dtype=np.float32) for n, s in shapes.items()}
    out = {k: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feed)[0]
           for k, p in (("fp32", exports["fp32"]), ("int8", exports["int8"]), ("half", path))}

    def psnr(a, b):
        return 10 * np.log10(1.0 / np.mean((a - b) ** 2))

    assert psnr(out["half"], out["fp32"]) > psnr(out["int8"], out["fp32"]) - 1.0  # no worse than the FP32 form


def test_finding6_quantize_writes_the_fp16_graph_form_when_asked(tmp_path):
    import cv2
    from conftest import moving_clip

    from edgevsr.quantize.export import read_metadata
    from edgevsr.quantize.int8_fp16 import FP16_FLOATS_KEY
    from edgevsr.quantize.pipeline import QuantizeOptions, quantize_model

    frames = tmp_path / "calib"
    frames.mkdir()
    for i, f in enumerate(moving_clip(3, 32, 48)):
        cv2.imwrite(str(frames / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out = tmp_path / "lite-int8.onnx"
    report = quantize_model("egvsr-lite", out, "int8", calibration=frames, search=False,
                            options=QuantizeOptions(calib_frames=3, shape=(32, 48), speed_shape=None,
                                                    fp16_floats=True))
    assert read_metadata(out)[FP16_FLOATS_KEY] == "fp16" and any("TensorRT 10+" in n for n in report.notes)
    facts = inspect_onnx(out)
    assert facts.precision == "int8" and facts.int8_fp16_floats and not facts.qdq_problems
