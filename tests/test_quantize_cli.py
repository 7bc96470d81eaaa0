"""`edgevsr quantize` end to end on a real checkpoint and real video; bad input gives one line, exit 2, no file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.calibration.trt_cache import read_cache
from edgevsr.quantize.export import read_metadata
from tests.conftest import moving_clip, run_cli, write_video


class Result:
    def __init__(self, returncode: int, stderr: str):
        self.returncode, self.stderr = returncode, stderr

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("edgevsr: error")]


def _run(*args) -> Result:
    """The real CLI entry point, in process (no interpreter start-up per call), stderr captured."""
    return Result(*run_cli("quantize", *args))


@pytest.fixture(scope="module")
def fp32(fixtures, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    path = d / "vespcn.onnx"
    r = _run("vespcn", "--weights", fixtures / "pretrained" / "vespcn_ep0500.fp16.safetensors", "--shape", "1x3x32x48",
             "-o", path)  # plain FP32 export (ORT == PyTorch is checked in test_quantize_export)
    assert r.returncode == 0, r.stderr
    assert read_metadata(path)["edgevsr.precision"] == "fp32"
    return path


def _real_clip(fixtures, tmp_path):
    from edgevsr.calibration.reader import read_calib_frames

    return write_video(tmp_path / "calib.mp4", read_calib_frames(fixtures / "clip", 4, (32, 48)))


def test_int8_end_to_end_with_caches(fp32, fixtures, tmp_path):
    clip = _real_clip(fixtures, tmp_path)
    out, cache, trt, report = (tmp_path / n for n in ("q.onnx", "s.npz", "t.cache", "r.json"))
    args = [fp32, "--int8", "--calib", clip, "--calib-frames", 4, "--no-search", "--speed-shape", "32x48",
            "--speed-runs", 1, "--cache", cache, "--trt-cache", trt, "--json", report, "--min-psnr-vs-fp32", 30]
    r = _run(*args, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "sr.conv" in r.stderr and "side by side" in r.stderr and "budget min_psnr_vs_fp32=30: met" in r.stderr
    meta = read_metadata(out)
    assert meta["edgevsr.precision"] == "mixed"
    q = json.loads(meta["edgevsr.quantization"])
    assert q["groups"]["sr.conv"] == "int8" and q["groups"]["sr.exit"].startswith("fp32 (default")
    with OnnxRuntimeRunner(out) as runner:
        assert runner.precision == "mixed"
        y = runner.infer(np.random.rand(1, 9, 32, 48).astype(np.float32))
        assert y.shape == (1, 3, 128, 192)
    header, scales = read_cache(trt)
    assert header == "TRT-100300-EntropyCalibration2" and scales
    # implicit path: scales only where the plan runs INT8, the float layers listed beside the cache
    import onnx

    from edgevsr.calibration.trt_cache import read_decisions

    src = onnx.load(str(fp32))
    conv = {n.input[1].removesuffix(".weight"): n for n in src.graph.node if n.op_type == "Conv"}
    floats = read_decisions(trt)
    assert conv["sr.exit"].name in floats and conv["sr.conv"].name not in floats
    assert json.loads(meta["edgevsr.float_nodes"]) == floats
    assert conv["sr.conv"].input[0] in scales and conv["sr.exit"].output[0] not in scales
    rep = json.loads(report.read_text())
    assert rep["speed"]["speedup"] > 0 and rep["psnr_vs_fp32_calib"] > 30
    # second run: statistics from the cache; an unmeetable budget keeps the model, labelled, exit 1
    out2 = tmp_path / "q2.onnx"
    again = [tmp_path / "r2.json" if a == report else a for a in args[:-2]]  # an existing report is never replaced
    r2 = _run(*again, "--speed-shape", "", "--min-psnr-vs-fp32", 200, "--method", "minmax", "-o", out2)
    assert r2.returncode == 1, r2.stderr
    assert "calibration statistics from cache" in r2.stderr and "NOT MET" in r2.stderr
    assert json.loads(read_metadata(out2)["edgevsr.quantization"])["budget_met"] is False
    # a damaged cache is a one-line error and no output
    cache.write_bytes(cache.read_bytes()[:100])
    r3 = _run(*[tmp_path / "r3.json" if a == report else a for a in args], "-o", tmp_path / "q3.onnx")
    assert r3.returncode == 2 and len(r3.error_lines) == 1 and "s.npz: corrupted" in r3.stderr
    assert "Traceback" not in r3.stderr
    assert not (tmp_path / "q3.onnx").exists()


def test_fp16_from_a_fixed_shape_export(fp32, fixtures, tmp_path):
    out = tmp_path / "h.onnx"
    r = _run(fp32, "--fp16", "--gt", fixtures / "clip", "--gt-frames", 3, "--speed-shape", "", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "candidate vs gt" in r.stderr and "(warp, flow scaling, skip, output)" in r.stderr
    with OnnxRuntimeRunner(out) as runner:
        assert runner.precision == "fp16"
    q = json.loads(read_metadata(out)["edgevsr.quantization"])
    assert q["groups"]["sr.conv"] == "fp16"


def test_bad_inputs_are_one_line_errors(fp32, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    empty = tmp_path / "empty"
    empty.mkdir()
    one = write_video(tmp_path / "one.mp4", moving_clip(1))
    clip = write_video(tmp_path / "clip.mp4", moving_clip(4, 32, 48))
    cases = [
        ((junk, "--int8", "--calib", clip), "junk.onnx: not an ONNX model"),
        ((fp32, "--int8", "--calib", empty), "empty: folder holds no images"),
        ((fp32, "--int8", "--calib", one), "one.mp4: 1 frame"),
        ((fp32, "--int8"), "--int8 needs calibration frames"),
        ((fp32, "--int8", "--calib", clip, "--method", "kl"), "--method 'kl'"),
        ((fp32, "--int8", "--fp16", "--calib", clip), "exclude each other"),
        ((fp32, "--int8", "--calib", clip, "--max-lpips-increase", "0.01"), "--gt"),
    ]
    for args, msg in cases:
        out = tmp_path / "out.onnx"
        r = _run(*args, "-o", out)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr and len(r.error_lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert not out.exists() and not list(tmp_path.glob(".*partial*"))
