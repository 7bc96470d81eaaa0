"""Every runner flag a command or API function takes is read or refused in one line, never silently ignored:
--threads in upscale/run, a runner given beside the flags it replaces, --device for opencv, eval's two modes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import pytest
from conftest import moving_clip, run_cli

import edgevsr
from edgevsr.errors import EdgeVSRError


def image(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "lr.png"
    path.parent.mkdir(parents=True)
    cv2.imwrite(str(path), cv2.cvtColor(moving_clip(1, 16, 24)[0], cv2.COLOR_RGB2BGR))
    return path


def one_line_refusal(code: int, err: str, words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("edgevsr: error: ") and words in lines[0], err


# --threads in upscale and run -----------------------------------------------------------------------------
@pytest.fixture
def torch_threads():
    import torch

    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


def test_upscale_and_run_set_torchs_threads(tmp_path, torch_threads):
    src = image(tmp_path)
    torch_threads.set_num_threads(2)
    code, err = run_cli("upscale", src, "-o", tmp_path / "cli.png", "--model", "bicubic", "--threads", "1")
    assert code == 0 and torch_threads.get_num_threads() == 1, err
    torch_threads.set_num_threads(2)
    edgevsr.upscale(src, tmp_path / "api.png", model="bicubic", threads=1)
    assert torch_threads.get_num_threads() == 1 and (tmp_path / "api.png").is_file()
    torch_threads.set_num_threads(2)
    code, err = run_cli("run", "-i", "test://?width=24&height=16&frames=2", "-o", "null://", "--model", "bicubic",
                        "--threads", "1")
    assert code == 0 and torch_threads.get_num_threads() == 1, err
    torch_threads.set_num_threads(2)
    stats = edgevsr.run("test://?width=24&height=16&frames=2", "null://", model="bicubic", threads=1)
    assert stats.shown == 2 and torch_threads.get_num_threads() == 1


@pytest.mark.parametrize("command", ["upscale", "run"])
@pytest.mark.parametrize("flags, words", [
    (["--threads", "0"], "--threads 0: must be >= 1"),
    (["--backend", "opencv", "--threads", "2"], "--threads: the opencv backend does not read it"),
    (["--backend", "opencv", "--device", "cuda"], "--device cuda: the opencv backend runs cv2.resize on the CPU"),
])
def test_upscale_and_run_refuse_threads_and_devices_they_would_not_use(command, flags, words, tmp_path):
    where = (["-i", "test://?width=24&height=16&frames=2", "-o", "null://"] if command == "run"
             else [image(tmp_path), "-o", tmp_path / "out.png"])
    one_line_refusal(*run_cli(command, *where, *flags), words)
    assert not (tmp_path / "out.png").exists()


# a runner given replaces the flags that would build one ----------------------------------------------------
@pytest.mark.parametrize("given, words", [
    ({"model": "egvsr"}, "runner= and model='egvsr'"),
    ({"onnx": "m.onnx", "device": "cuda"}, "runner= and device='cuda', onnx='m.onnx'"),
    ({"threads": 2}, "runner= and threads=2"),
    ({"backend": "onnxruntime"}, "runner= and backend='onnxruntime'"),
    ({"compile": True}, "runner= and compile=True"),
])
def test_a_runner_beside_the_flags_it_replaces_is_refused(given, words, tmp_path):
    runner = edgevsr.make_runner(backend="opencv")
    with pytest.raises(EdgeVSRError) as exc:
        edgevsr.upscale(image(tmp_path), tmp_path / "out.png", runner=runner, **given)
    assert words in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
    with pytest.raises(EdgeVSRError, match="runner= and "):
        edgevsr.run("test://?width=24&height=16&frames=2", "null://", runner=runner, **given)
    assert not (tmp_path / "out.png").exists()
    out = edgevsr.upscale(image(tmp_path / "ok"), tmp_path / "ok.png", runner=runner)  # the runner alone runs
    assert out.frames == 1 and out.weights == "runner given"


# eval: a model run, or saved outputs scored; the other mode's flags are refused -------------------------------
@pytest.mark.parametrize("args, words", [
    (["--backend", "onnxruntime", "--gt", "{tmp}", "--degrade", "BD"], "--backend onnxruntime needs --onnx FILE"),
    (["--backend", "opencv", "--gt", "{tmp}"], "--backend opencv needs --gt (ground truth) and one of --lr-dir"),
    (["--backend", "opencv"], "--backend opencv needs --gt"),
    (["{tmp}/out", "--gt", "{tmp}", "--weights", "w.safetensors"], "--weights: scoring saved OUTPUTS runs no model"),
    (["{tmp}/out", "--gt", "{tmp}", "--precision", "fp16"], "--precision: scoring saved OUTPUTS runs no model"),
    (["{tmp}/out", "--gt", "{tmp}", "--fp16"], "--fp16: scoring saved OUTPUTS runs no model"),
    (["{tmp}/out", "--gt", "{tmp}", "--degrade", "BD"], "--degrade: scoring saved OUTPUTS runs no model"),
    (["{tmp}/out", "--reference", "{tmp}/ref", "--gt", "{tmp}", "--lr-dir", "{tmp}"], "--lr-dir: scoring saved"),
    (["{tmp}/out", "--gt", "{tmp}", "--model", "bicubic", "--degrade", "BD"],
     "OUTPUTS: a model run scores the outputs it makes"),
])
def test_eval_refuses_what_its_mode_would_not_read(args, words, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    one_line_refusal(*run_cli("eval", "--no-lpips", *args), words)


def test_eval_runs_the_opencv_backend_without_model(tmp_path):
    gt = tmp_path / "GT" / "s"
    gt.mkdir(parents=True)
    for i, f in enumerate(moving_clip(2, 32, 48)):
        cv2.imwrite(str(gt / f"{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    code, err = run_cli("eval", "--backend", "opencv", "--gt", tmp_path / "GT", "--degrade", "BD", "--no-lpips",
                        "--no-tof", "--json", tmp_path / "r.json")
    assert code == 0, err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["mode"] == "model" and doc["model"] == "opencv-bicubic", doc
    assert math.isfinite(doc["results"]["output vs gt"]["mean"]["psnr_y"])
