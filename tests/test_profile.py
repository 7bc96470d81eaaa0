"""`edgevsr profile` on the CPU backends: report contents, statistics, FLOP figures, device peaks, CLI + JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.deploy.devices import DevicePeak, lookup_peak, measure_cpu_peak
from edgevsr.deploy.profile import compute_figures, latency_stats, profile_runner, synthetic_frames
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.spec import ModelSpec

PEAK = DevicePeak("test cpu", 0.05, None, None, None, "given")


@pytest.fixture(scope="module")
def lite():
    torch.manual_seed(0)
    return build_model("egvsr-lite")


def check_report(rep: dict, timed: int, size: tuple[int, int], padded: tuple[int, int], macs: float) -> None:
    assert rep["schema"] == "edgevsr.profile/1" and rep["model"] == "egvsr-lite"
    assert rep["frames"] == {"warmup": 2, "timed": timed, "outputs": timed}
    assert (rep["input"]["width"], rep["input"]["height"]) == size
    assert rep["input"]["padded"] == list(padded) and rep["input"]["output"] == [4 * size[0], 4 * size[1]]
    lat = rep["latency_ms"]
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert rep["fps"] > 0 and abs(rep["fps"] - 1000.0 / lat["mean"]) / rep["fps"] < 0.2
    assert rep["stages_ms"]["infer"] > 0 and all(v >= 0 for v in rep["stage_share"].values())
    assert abs(sum(rep["stage_share"].values()) - 1.0) < 1e-6
    assert rep["inference_ms"]["median"] <= lat["max"]
    comp = rep["compute"]
    assert comp["gflop_per_frame"] == pytest.approx(2 * macs * padded[0] * padded[1] / 1e9)
    assert comp["roofline_pct"] == pytest.approx(100 * comp["achieved_gflops"] / comp["peak_gflops"])
    assert rep["memory"]["peak_mib"] > (0 if rep["memory"]["method"].startswith("torch.cuda") else 10)
    assert json.loads(json.dumps(rep)) == rep  # plain JSON types only


def test_profile_torch_cpu(lite):
    runner = TorchRunner(lite, ModelSpec.of(lite, "egvsr-lite"))
    frames = list(synthetic_frames(50, 30, 6))  # padded to 56x32 like upscale does
    macs = lite.macs_per_lr_pixel()
    rep = profile_runner(runner, frames, 2, macs_per_lr_pixel=macs, peak=PEAK)
    check_report(rep, 4, (50, 30), (56, 32), macs)
    assert rep["runner"] == "torch cpu fp32" and rep["power"] is None and rep["layers"] is None


def test_profile_onnxruntime_cpu(lite, tmp_path):
    from edgevsr.quantize.export import export_onnx

    path = tmp_path / "lite.onnx"
    export_onnx(lite, "egvsr-lite", path, shape=(32, 48))
    frames = list(synthetic_frames(48, 32, 5))
    macs = lite.macs_per_lr_pixel()
    rep = profile_runner(OnnxRuntimeRunner(path), frames, 2, macs_per_lr_pixel=macs, peak=PEAK)
    check_report(rep, 3, (48, 32), (48, 32), macs)
    assert rep["backend"] == "onnxruntime" and rep["runner"].startswith("onnxruntime CPU")


def test_profile_needs_frames_after_warmup(lite):
    runner = TorchRunner(lite, ModelSpec.of(lite, "egvsr-lite"))
    with pytest.raises(EdgeVSRError, match="more than 3 frames"):
        profile_runner(runner, list(synthetic_frames(16, 16, 3)), 3, macs_per_lr_pixel=None, peak=None)


def test_synthetic_frames_are_deterministic_and_moving():
    a, b = list(synthetic_frames(40, 24, 3)), list(synthetic_frames(40, 24, 3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == (24, 40, 3) and a[0].dtype == np.uint8
    assert np.array_equal(a[1][:-2, :-3], a[0][2:, 3:])  # panned 2 px down, 3 px right
    assert not np.array_equal(a[0], a[1])


def test_latency_statistics():
    s = latency_stats([i / 1000 for i in range(1, 101)])
    assert (s["median"], s["min"], s["max"]) == pytest.approx((50.5, 1, 100))
    assert s["p90"] == pytest.approx(90.1) and s["p99"] == pytest.approx(99.01)


def test_compute_figures():
    peak = DevicePeak("dev", 10.0, 40.0, None, 100.0, "sheet")
    c = compute_figures(1000.0, 480, 272, 0.01, peak, "fp16")
    assert c["gflop_per_frame"] == pytest.approx(2 * 1000 * 480 * 272 / 1e9)
    assert c["achieved_gflops"] == pytest.approx(c["gflop_per_frame"] / 0.01)
    assert c["roofline_pct"] == pytest.approx(100 * c["achieved_gflops"] / 40000.0)
    no_int8 = compute_figures(1000.0, 480, 272, 0.01, peak, "int8")
    assert no_int8["roofline_pct"] is None and "no int8 peak" in no_int8["note"]
    assert compute_figures(None, 8, 8, 0.01, peak, "fp32")["gflop_per_frame"] is None


def test_device_peak_table():
    assert lookup_peak("NVIDIA GeForce RTX 4090").fp32_tflops == 82.6
    assert lookup_peak("NVIDIA Jetson AGX Orin Developer Kit").name == "Jetson AGX Orin 64GB"
    assert lookup_peak("NVIDIA Jetson Orin Nano Developer Kit").name == "Jetson Orin Nano 8GB"
    assert lookup_peak("NVIDIA H100 PCIe").name == "H100 PCIe"
    assert lookup_peak("NVIDIA H100 80GB HBM3").name == "H100 SXM"
    assert lookup_peak("Some Future GPU") is None
    assert lookup_peak("Jetson Nano").for_precision("int8") is None
    cpu = measure_cpu_peak(repeats=2, n=256)
    assert cpu.fp32_tflops > 0 and cpu.source.startswith("measured: best of 2 torch.mm 256x256")
    # FP16 figures are dense with FP32 accumulate: a GeForce card runs that at half its FP16-accumulate rate
    assert lookup_peak("NVIDIA GeForce RTX 4090").fp16_tflops == 165.2
    assert lookup_peak("NVIDIA H200").fp16_tflops == 989.0


def test_cpu_ceiling_is_hardware_not_a_matmul(monkeypatch):
    from edgevsr.deploy import devices

    monkeypatch.setattr(devices, "_cpu_flags", lambda: ("GenuineIntel", {"fma", "avx2"}))
    monkeypatch.setattr(devices, "_cpu_clock_ghz", lambda: (3.0, "test clock"))
    c = devices.cpu_ceiling(threads=1)
    assert c.fp32_tflops * 1000 == pytest.approx(2 * 8 * 2 * 3.0)  # 2 FMA x 8 lanes x 2 FLOP x 3 GHz x 1 core
    assert "2 FMA units (assumed) x 8 FP32 lanes (AVX2+FMA)" in c.source and "test clock" in c.source
    monkeypatch.setattr(devices, "_cpu_flags", lambda: ("AuthenticAMD", {"fma", "avx2", "avx512f"}))
    assert "Zen 4" in devices.cpu_ceiling(threads=1).source
    monkeypatch.undo()
    here = devices.cpu_ceiling(threads=1)
    # every factor is named; without cpufreq (VMs) the clock is /proc/cpuinfo's nominal one, said so
    assert "FMA units" in here.source and "GHz (" in here.source and "cores in use" in here.source


@pytest.mark.skipif(importlib.util.find_spec("pynvml") is not None, reason="nvidia-ml-py is installed here")
def test_power_probe_absent_says_what_to_install():
    from edgevsr.deploy.power import open_probe

    probe, reason = open_probe(0)
    assert probe is None and "pip install 'edgevsr[nvml]'" in reason


def test_profile_cli_writes_json(tmp_path):
    out = tmp_path / "p.json"
    # sofvsr ships no trained weights, so --allow-random really runs an untrained network here
    cmd = [sys.executable, "-m", "edgevsr.cli.main", "profile", "--model", "sofvsr", "--allow-random",
           "--size", "48x32", "--size", "40x24", "--frames", "3", "--warmup", "1", "--json", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "median" in r.stdout and "48x32 -> 192x128" in r.stdout and "timing does not depend" in r.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == "edgevsr.profile/1" and [x["input"]["width"] for x in data["runs"]] == [48, 40]
    assert all(x["frames"]["timed"] == 3 and x["weights"] == "RANDOM (untrained)" for x in data["runs"])
    bad = subprocess.run([*cmd[:4], "--layers"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith(
        "edgevsr: error: --layers: the torch backend does not read it (--layers is for tensorrt)")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to PyTorch")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_profile_torch_cuda(lite, precision):
    runner = TorchRunner(lite, ModelSpec.of(lite, "egvsr-lite"), "cuda", precision)
    macs = lite.macs_per_lr_pixel()
    rep = profile_runner(runner, list(synthetic_frames(48, 32, 6)), 2, macs_per_lr_pixel=macs, peak=PEAK)
    check_report(rep, 4, (48, 32), (48, 32), macs)
    assert rep["memory"]["method"].startswith("torch.cuda") and rep["precision"] == precision


def test_frames_from_a_real_video_loop_when_short(tmp_path):
    from edgevsr.deploy.profile import frames_from_file
    from tests.conftest import moving_clip, write_video

    video = write_video(tmp_path / "v.mp4", moving_clip(3, 32, 48))
    frames, source = frames_from_file(video, 5)
    assert len(frames) == 5 and frames[0].shape == (32, 48, 3) and "looped: 3 frames" in source
    assert np.array_equal(frames[3], frames[0]) and np.array_equal(frames[4], frames[1])
    assert not np.array_equal(frames[1], frames[0])


def test_profile_windowed_model_counts_only_full_windows():
    model = build_model("vespcn")
    runner = TorchRunner(model, ModelSpec.of(model, "vespcn"))
    rep = profile_runner(runner, list(synthetic_frames(48, 32, 5)), 1, macs_per_lr_pixel=None, peak=None)
    assert rep["kind"] == "windowed" and rep["frames"] == {"warmup": 1, "timed": 4, "outputs": 4}
    with pytest.raises(EdgeVSRError, match="--warmup 0: vespcn sees 3 frames"):
        profile_runner(runner, list(synthetic_frames(48, 32, 5)), 0, macs_per_lr_pixel=None, peak=None)
