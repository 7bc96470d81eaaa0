"""TensorRT build + runner on a real GPU (skipped where TensorRT or CUDA is missing)."""

from __future__ import annotations

import json

import pytest
import torch

trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed (pip install 'edgevsr[tensorrt]')")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device visible to PyTorch", allow_module_level=True)

from edgevsr.backends.tensorrt.engine_record import ShapeProfile, sidecar_path  # noqa: E402
from edgevsr.backends.tensorrt.runner import TensorRTRunner  # noqa: E402
from edgevsr.backends.torch.runner import TorchRunner  # noqa: E402
from edgevsr.deploy.compare import compare_runners  # noqa: E402
from edgevsr.deploy.profile import profile_runner, synthetic_frames  # noqa: E402
from edgevsr.deploy.trt_builder import build_engine  # noqa: E402
from edgevsr.deploy.trt_plan import BuildOptions, parse_version  # noqa: E402
from edgevsr.errors import EdgeVSRError  # noqa: E402
from edgevsr.models import build_model  # noqa: E402
from edgevsr.models.spec import ModelSpec  # noqa: E402

PROFILE = ShapeProfile((48, 32), (48, 32), (96, 64))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("egvsr-lite")


@pytest.fixture(scope="module")
def built(model, tmp_path_factory):
    from edgevsr.quantize.export import export_onnx

    root = tmp_path_factory.mktemp("trt")
    onnx = root / "lite.onnx"
    export_onnx(model, "egvsr-lite", onnx)
    opts = BuildOptions(precision="fp32", profile=PROFILE, workspace_mib=1024, timing_cache=root / "timing.cache")
    return onnx, opts, build_engine(onnx, root / "lite.engine", opts, log=lambda m: None)


def test_build_writes_engine_sidecar_and_timing_cache(built):
    onnx, opts, res = built
    assert not res.reused and res.engine.stat().st_size > 0 and res.record.precision == "fp32"
    side = json.loads(sidecar_path(res.engine).read_text())
    assert side["trt_version"] == trt.__version__ and side["gpu_name"] == torch.cuda.get_device_name(0)
    assert opts.timing_cache.stat().st_size > 0
    again = build_engine(onnx, res.engine, opts, log=lambda m: None)
    assert again.reused and again.record.cache_key == res.record.cache_key


def test_engine_matches_torch(built, model):
    _, _, res = built
    clip = list(synthetic_frames(48, 32, 4))
    ref = TorchRunner(model, ModelSpec.of(model, "egvsr-lite"), "cuda")
    cmp = compare_runners(ref, TensorRTRunner(res.engine), clip, max_abs=2e-2)
    assert cmp.passed, cmp.summary()


def test_cuda_graph_replay_equals_enqueue(built):
    _, _, res = built
    clip = list(synthetic_frames(48, 32, 4))
    cmp = compare_runners(TensorRTRunner(res.engine), TensorRTRunner(res.engine, cuda_graph=True), clip, max_abs=0.0)
    assert cmp.passed, cmp.summary()


def test_profile_with_layer_times(built, model):
    _, _, res = built
    runner = TensorRTRunner(res.engine, layer_timing=True)
    rep = profile_runner(runner, list(synthetic_frames(96, 64, 6)), 2, macs_per_lr_pixel=model.macs_per_lr_pixel(),
                         peak=None, layers=True)
    assert rep["frames"]["timed"] == 4 and rep["layers"] and rep["layers"][0]["mean_ms"] > 0
    assert rep["memory"]["method"].startswith("torch.cuda")


def test_shape_outside_profile_and_foreign_engine_are_refused(built):
    _, _, res = built
    from edgevsr.stream import FrameUpscaler

    with TensorRTRunner(res.engine) as runner, pytest.raises(EdgeVSRError, match="outside the engine's shape"):
        FrameUpscaler(runner).push(next(synthetic_frames(128, 64, 1)))
    side = sidecar_path(res.engine)
    original = side.read_text()
    try:
        side.write_text(original.replace(f'"trt_version": "{trt.__version__}"', '"trt_version": "9.9.9"'))
        with pytest.raises(EdgeVSRError, match="rebuild it here with: edgevsr build"):
            TensorRTRunner(res.engine)
    finally:
        side.write_text(original)


@pytest.mark.skipif(parse_version(trt.__version__) >= (11, 0), reason="TensorRT 11 has no FP16 builder flag")
def test_implicit_fp16_build(built, tmp_path):
    onnx, opts, _ = built
    fp16 = BuildOptions(precision="fp16", profile=PROFILE, workspace_mib=1024, timing_cache=opts.timing_cache)
    res = build_engine(onnx, tmp_path / "fp16.engine", fp16, log=lambda m: None)
    assert res.plan.path == "implicit" and res.record.flags["builder"] == ["FP16"]
    clip = list(synthetic_frames(48, 32, 3))
    cmp = compare_runners(TensorRTRunner(built[2].engine), TensorRTRunner(res.engine), clip, min_psnr=35)
    assert cmp.passed, cmp.summary()
