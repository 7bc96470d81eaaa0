"""The backend registry: name -> loader, threads as configuration, one delegating base for wrappers, and
make_runner refusing a --model / --precision that contradicts what an exported ONNX file or engine holds."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from edgevsr.backends import BACKENDS, DelegatingRunner
from edgevsr.backends.registry import (
    LOADERS,
    OnnxRuntimeOptions,
    RunnerConfig,
    TensorRTOptions,
    TorchOptions,
    check_request,
    make_runner,
    runner_config,
    same_precision,
)
from edgevsr.calibration.reader import InputRecordingRunner
from edgevsr.deploy.compare import OutputRecordingRunner
from edgevsr.deploy.profile import TimedRunner, profile_runner
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.stream import FrameUpscaler
from tests.conftest import ROOT, moving_clip, write_video

CLIP = moving_clip(3, 32, 48)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """egvsr-lite exported by the project's own exporter, in FP32 and (converted like `quantize --fp16`) FP16."""
    import onnx

    from edgevsr.quantize import export as X
    from edgevsr.quantize.fp16 import convert_fp16

    root = tmp_path_factory.mktemp("backends")
    torch.manual_seed(0)
    fp32 = X.export_onnx(build_model("egvsr-lite"), "egvsr-lite", root / "lite.onnx", shape=(32, 48)).path
    proto = onnx.load(str(fp32))
    half = convert_fp16(proto)
    X.set_metadata(half, {**{p.key: p.value for p in proto.metadata_props}, X.PRECISION_KEY: "fp16"})
    fp16 = X.save_onnx(half, root / "lite-fp16.onnx")
    return {"fp32": fp32, "fp16": fp16}


# registry ----------------------------------------------------------------------------------------------
def test_every_backend_has_a_loader_module():
    assert BACKENDS == ("torch", "onnxruntime", "tensorrt", "opencv")
    for name in BACKENDS:
        assert callable(importlib.import_module(LOADERS[name]).load), name


def test_unknown_backend_names_the_choices():
    with pytest.raises(EdgeVSRError, match="unknown backend 'tflite'; choose torch, onnxruntime, tensorrt, opencv"):
        make_runner(runner_config(backend="tflite"))


def test_torch_defaults_and_opencv_through_the_registry():
    runner, _ = make_runner(RunnerConfig(model="bicubic"))
    assert runner.spec.name == "bicubic" and runner.precision == "fp32"
    cv, source = make_runner(runner_config(backend="opencv"))
    assert cv.spec.name == "opencv-bicubic" and "no weights" in source
    with cv:
        hr = list(FrameUpscaler(cv).run(CLIP))
    assert hr[0].shape == (128, 192, 3)
    with pytest.raises(EdgeVSRError, match="--backend opencv runs opencv-bicubic .*not --model egvsr"):
        make_runner(runner_config(backend="opencv", model="egvsr"))


# model / precision vs the file -------------------------------------------------------------------------
def test_onnx_metadata_decides_model_and_precision(exports):
    runner, source = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp32"]))
    assert (runner.spec.name, runner.precision) == ("egvsr-lite", "fp32") and "egvsr-lite" in source
    same, _ = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp16"], model="egvsr-lite",
                                        precision="fp16"))
    assert same.precision == "fp16"


@pytest.mark.parametrize("changes, words", [
    ({"model": "egvsr"}, "holds model 'egvsr-lite', not --model 'egvsr'"),
    ({"precision": "fp16"}, "is a fp32 model, not --precision fp16"),
])
def test_contradicting_model_or_precision_is_refused(exports, changes, words):
    cfg = runner_config(backend="onnxruntime", onnx=exports["fp32"], **changes)
    with pytest.raises(EdgeVSRError) as exc:
        make_runner(cfg)
    msg = str(exc.value)
    assert msg.startswith(f"{exports['fp32']}: ") and words in msg and "\n" not in msg


def test_mixed_file_counts_as_int8():
    assert same_precision("int8", "mixed") and not same_precision("fp32", "fp16")


def test_fp16_export_refuses_fp32(exports):
    with pytest.raises(EdgeVSRError, match="is a fp16 model, not --precision fp32"):
        make_runner(runner_config(backend="onnxruntime", onnx=exports["fp16"], precision="fp32"))


def test_engine_sidecar_is_checked_like_onnx_metadata(tmp_path):
    """The tensorrt loader checks the sidecar's model/precision with the same rule (before TensorRT loads it)."""
    from edgevsr.backends.tensorrt.engine_record import DEFAULT_PROFILE, EngineRecord, read_record
    from edgevsr.deploy.provenance import write_engine
    from edgevsr.models.spec import ModelSpec

    rec = EngineRecord(trt_version="10.3.0", gpu_name="GPU", compute_capability="8.7", precision="int8",
                       path="explicit", profile=DEFAULT_PROFILE.to_dict(), onnx_sha256="ab" * 32,
                       spec=ModelSpec("egvsr", "recurrent").to_dict())
    engine = write_engine(b"plan", tmp_path / "m.engine", rec)
    back = read_record(engine)
    check_request(RunnerConfig(model="egvsr", precision="int8"), back.model_spec.name, back.precision, engine)
    with pytest.raises(EdgeVSRError, match=r"m.engine: is a int8 model, not --precision fp16"):
        check_request(RunnerConfig(precision="fp16"), back.model_spec.name, back.precision, engine)


def test_run_cli_refuses_a_model_the_onnx_does_not_hold(exports, tmp_path):
    video = write_video(tmp_path / "in.mp4", CLIP)
    base = [sys.executable, "-m", "edgevsr.cli.main", "run", "--backend", "onnxruntime", "--onnx",
            str(exports["fp32"]), "-i", str(video), "-o", "null://", "--frames", "2"]
    bad = subprocess.run([*base, "--model", "egvsr"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.startswith(f"edgevsr: error: {exports['fp32']}: holds model 'egvsr-lite'")
    ok = subprocess.run(base, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "egvsr-lite" in ok.stderr.split("\n")[0]  # labelled with the model the file holds


def test_upscale_cli_takes_the_model_from_the_onnx_when_no_model_is_given(exports, tmp_path):
    """`upscale --backend onnxruntime --onnx F` without --model runs what F holds (a default of egvsr was refused)."""
    video = write_video(tmp_path / "in.mp4", CLIP)
    out = tmp_path / "out.mp4"
    ok = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "upscale", str(video), "-o", str(out),
                         "--backend", "onnxruntime", "--onnx", str(exports["fp32"])], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert out.is_file() and "egvsr-lite" in ok.stdout + ok.stderr


# one session maker, threads as configuration --------------------------------------------------------------
def test_only_the_onnxruntime_loader_makes_sessions_and_no_code_reads_a_thread_variable():
    loader = ROOT / "edgevsr" / "backends" / "onnxruntime" / "loader.py"
    product = [f for d in ("edgevsr", "quantize", "calibration", "deploy", "edge", "benchmarks")
               for f in (ROOT / d).rglob("*.py")]
    assert loader in product
    sessions = [f for f in product if "InferenceSession(" in f.read_text() and f != loader]
    assert sessions == [], f"ONNX Runtime sessions made outside {loader}"
    variable = [f for f in product if "EDGEVSR_ORT_THREADS" in f.read_text()]
    assert variable == [], "the thread count is an options field, not an environment variable"


# threads -----------------------------------------------------------------------------------------------
def test_threads_reach_the_session_and_the_profile_record(exports):
    runner, _ = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp32"], threads=1))
    report = profile_runner(runner, CLIP, 1, macs_per_lr_pixel=None, peak=None)
    assert report["environment"]["ort_threads"] == "1"
    with runner:
        assert runner.session.get_session_options().intra_op_num_threads == 1
    default, _ = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp32"]))
    assert profile_runner(default, CLIP, 1, macs_per_lr_pixel=None, peak=None)["environment"]["ort_threads"] == \
        "default"


# the delegating base -----------------------------------------------------------------------------------
def test_wrappers_share_one_base_and_change_nothing(exports):
    for wrapper in (OutputRecordingRunner, InputRecordingRunner, TimedRunner):
        assert issubclass(wrapper, DelegatingRunner)
    plain, _ = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp32"]))
    with plain:
        want = list(FrameUpscaler(plain).run(CLIP))
    inner, _ = make_runner(runner_config(backend="onnxruntime", onnx=exports["fp32"]))
    timed = TimedRunner(inner)
    rec = OutputRecordingRunner(timed)  # a wrapper of a wrapper forwards the whole life cycle
    with rec:
        assert inner.active
        got = list(FrameUpscaler(rec).run(CLIP))
        assert rec.inference_time == inner.inference_time > 0
    assert not inner.active
    assert all(np.array_equal(a, b) for a, b in zip(want, got)) and len(got) == len(want) == len(CLIP)
    assert len(rec.outputs) == len(timed.times["infer"]) == len(CLIP)
    assert rec.outputs[0].dtype == np.float32 and rec.outputs[0].shape == (1, 3, 128, 192)
    assert rec.describe() == inner.describe() and rec.name == "onnxruntime"


def test_input_recorder_keeps_numpy_feeds_whatever_the_backend():
    runner, _ = make_runner(RunnerConfig(model="egvsr-lite", allow_random=True))
    rec = InputRecordingRunner(runner)
    with rec:
        list(FrameUpscaler(rec).run(CLIP[:2]))
    assert len(rec.steps) == 2 and all(isinstance(x, np.ndarray) and x.dtype == np.float32 for x in rec.steps[0])
    assert [x.shape for x in rec.steps[1]] == [(1, 3, 32, 48), (1, 3, 32, 48), (1, 3, 128, 192)]


# per-backend options -------------------------------------------------------------------------------------
def test_a_file_picks_its_backend_and_builds_that_backends_options(exports, tmp_path):
    cfg = runner_config(onnx=exports["fp32"], threads=2)
    assert cfg.backend == "onnxruntime" and cfg.options == OnnxRuntimeOptions(exports["fp32"], threads=2)
    assert cfg.file == exports["fp32"] and cfg.threads == 2
    engine = runner_config(onnx=tmp_path / "m.engine", cuda_graph=True)
    assert engine.backend == "tensorrt" and engine.options.engine == tmp_path / "m.engine"
    assert engine.options.cuda_graph
    # --engine is tensorrt's flag whatever the file is called (profile builds an engine from an .onnx)
    assert runner_config(engine=tmp_path / "m.onnx").options == TensorRTOptions(tmp_path / "m.onnx")
    plain = runner_config(model="bicubic", compile=True)
    assert plain.options == TorchOptions(compile=True) and plain.file is None
    assert RunnerConfig().options == TorchOptions() and RunnerConfig().backend == "torch"
    flat = runner_config(onnx=exports["fp32"]).to_dict()
    assert flat["backend"] == "onnxruntime" and flat["model_file"] == str(exports["fp32"])


@pytest.mark.parametrize("flags, words", [
    ({"backend": "onnxruntime", "compile": True}, "--compile: the onnxruntime backend does not read it "
                                                  "(--compile is for torch)"),
    ({"channels_last": True, "cuda_graph": True, "onnx": "m.engine"}, "--channels-last: the tensorrt backend"),
    ({"layer_timing": True}, "--layers: the torch backend does not read it (--layers is for tensorrt)"),
    ({"threads": 2, "onnx": "m.engine"}, "--threads: the tensorrt backend does not read it "
                                         "(--threads is for torch / onnxruntime)"),
    ({"backend": "opencv", "threads": 1}, "--threads: the opencv backend"),
    ({"backend": "onnxruntime"}, "--backend onnxruntime needs --onnx FILE"),
    ({"backend": "tensorrt"}, "--backend tensorrt needs an engine"),
    ({"onnx": "a.onnx", "engine": "b.engine"}, "a runner runs one file; give one"),
    ({"backend": "onnxruntime", "onnx": "a.onnx", "engine": "b.engine"}, "give one"),
    ({"backend": "opencv", "onnx": "a.onnx"}, "--backend opencv runs no file"),
    ({"onnx": "m.bin"}, "expected an .onnx file"),
    ({"onnx": "m.onnx", "weights": "w.safetensors"}, "--weights: the onnxruntime backend does not read it "
                                                     "(--weights is for torch)"),
    ({"backend": "opencv", "weights": "rrn-stage1"}, "--weights: the opencv backend"),
    ({"onnx": "m.engine", "allow_random": True}, "--allow-random: the tensorrt backend"),
    ({"threads": 0}, "--threads 0: must be >= 1"),
    ({"device": "gpu"}, "--device 'gpu': choose cpu or cuda"),
    ({"backend": "opencv", "device": "cuda"}, "--device cuda: the opencv backend runs cv2.resize on the CPU"),
    ({"backend": "opencv", "device": "cuda:1"}, "--device cuda:1: the opencv backend"),
    ({"threads": "2"}, "--threads '2': expected an integer"),
    ({"threads": True}, "--threads True: expected an integer"),
    ({"compile": "yes"}, "--compile 'yes': expected True or False"),
    ({"device": 0}, "--device 0: expected a string"),
    ({"model": 3}, "--model 3: expected a string"),
    ({"onnx": 1}, "--onnx 1: expected a path"),
    ({"backend": ["torch"]}, "--backend ['torch']: expected a string"),
])
def test_a_flag_the_backend_would_not_read_is_refused_in_one_line(flags, words):
    with pytest.raises(EdgeVSRError) as exc:
        runner_config(**flags)
    assert words in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


def test_cli_refuses_a_flag_meant_for_another_backend(exports, tmp_path):
    video = write_video(tmp_path / "in.mp4", CLIP)
    bad = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "upscale", str(video), "-o",
                          str(tmp_path / "out.mp4"), "--onnx", str(exports["fp32"]), "--compile"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("edgevsr: error: --compile: the onnxruntime backend"), \
        bad.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_api_builds_its_options_with_the_same_helper(exports):
    import edgevsr

    with pytest.raises(EdgeVSRError, match="--cuda-graph: the onnxruntime backend"):
        edgevsr.make_runner(onnx=exports["fp32"], cuda_graph=True)
    assert edgevsr.make_runner(onnx=exports["fp32"], threads=1).name == "onnxruntime"
    with pytest.raises(EdgeVSRError, match="--threads '2': expected an integer"):
        edgevsr.make_runner(threads="2")
    with pytest.raises(EdgeVSRError, match="--threads '2'"):
        TorchOptions(threads="2")  # the options themselves, built without runner_config
    assert runner_config(threads=np.int64(2)).threads == 2
