"""`edgevsr compare`: identical runners agree exactly, torch vs onnxruntime agree closely, different weights fail."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.cli.compare_cmd import parse_side
from edgevsr.deploy.compare import compare_runners, psnr
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.spec import ModelSpec
from tests.conftest import moving_clip, write_video


def lite(seed: int):
    torch.manual_seed(seed)
    return build_model("egvsr-lite")


def runner(model) -> TorchRunner:
    return TorchRunner(model, ModelSpec.of(model, "egvsr-lite"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from edgevsr.quantize.export import export_onnx

    path = tmp_path_factory.mktemp("cmp") / "lite.onnx"
    export_onnx(lite(0), "egvsr-lite", path, shape=(32, 48))
    return path


CLIP = moving_clip(4, 32, 48)


def test_same_runner_twice_is_identical():
    m = lite(0)
    res = compare_runners(runner(m), runner(m), CLIP, max_abs=0.0)
    assert res.passed and len(res.frames) == 4
    assert all(f.max_abs == 0 and math.isinf(f.psnr_db) for f in res.frames)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["summary"]["min_psnr_db"] is None and d["passed"] is True


def test_torch_vs_onnxruntime_agree(exported):
    res = compare_runners(runner(lite(0)), OnnxRuntimeRunner(exported), CLIP, max_abs=1e-3, min_psnr=60)
    s = res.summary()
    assert res.passed, s
    assert 0 < s["max_abs"] < 1e-3 and s["min_psnr_db"] > 60  # float rounding differs, but barely


def test_different_weights_fail_fast():
    res = compare_runners(runner(lite(0)), runner(lite(1)), CLIP, max_abs=1e-3, fail_fast=True)
    assert not res.passed and res.stopped_early and len(res.frames) == 1
    assert res.summary()["first_failing_frame"] == 0 and res.frames[0].max_abs > 1e-3
    full = compare_runners(runner(lite(0)), runner(lite(1)), CLIP, min_psnr=100)
    assert len(full.frames) == 4 and not full.stopped_early and not any(f.passed for f in full.frames)


def test_incompatible_models_are_refused():
    bic = build_model("bicubic")
    with pytest.raises(EdgeVSRError, match="cannot compare egvsr-lite"):
        compare_runners(runner(lite(0)), TorchRunner(bic, ModelSpec.of(bic, "bicubic")), CLIP)


def test_psnr_and_side_parsing():
    a = torch.zeros(3, 4, 4).numpy()
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert math.isinf(psnr(a, a))
    assert parse_side("torch:fp16") == ("torch", "fp16", None)
    assert parse_side("onnxruntime=q.onnx")[2].name == "q.onnx"
    with pytest.raises(EdgeVSRError, match="BACKEND"):
        parse_side("tflite")


def test_compare_cli_exit_codes(exported, tmp_path):
    video = write_video(tmp_path / "clip.mp4", moving_clip(3, 32, 48))
    base = [sys.executable, "-m", "edgevsr.cli.main", "compare", str(video), "--model", "egvsr-lite",
            "--allow-random", "--frames", "3"]
    # --allow-random draws fresh weights, unlike the exported ONNX: a real mismatch the gate must catch
    bad = subprocess.run([*base, "--test", f"onnxruntime={exported}", "--max-abs", "0.01", "--fail-fast",
                          "--json", str(tmp_path / "c.json")], capture_output=True, text=True)
    assert bad.returncode == 1, bad.stderr
    err = " ".join(bad.stderr.split())  # rich wraps long lines
    assert "FAIL: frame 0" in err and "stopped early" in err
    assert json.loads((tmp_path / "c.json").read_text())["passed"] is False
    onnx_only = [*base[:5], "--ref", f"onnxruntime={exported}", "--test", f"onnxruntime={exported}", "--frames", "3"]
    ok = subprocess.run([*onnx_only, "--max-abs", "0", "--min-psnr", "99"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "PASS" in ok.stderr and "max |err| 0.00000" in ok.stderr
