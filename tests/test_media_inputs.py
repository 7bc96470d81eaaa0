"""Issue 28, priority 4: inputs that silently disagreed with the run. An ONNX file runs on ONNX Runtime (not the
shipped torch weights), NaN weights are refused instead of writing black video, damaged shipped weights are
caught by their card's SHA-256, two frames that would share an output name are refused, and `eval` refuses
outputs that were never upscaled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgevsr.errors import EdgeVSRError
from tests.conftest import moving_clip, write_video
from tests.test_bad_inputs import run_main


def _espcn(path: Path, poison: bool = False) -> Path:
    import torch
    from safetensors.torch import save_file

    from edgevsr.models import build_model

    sd = {k: v.clone().contiguous() for k, v in build_model("espcn").state_dict().items()}
    if poison:
        first = next(k for k, v in sd.items() if v.is_floating_point())
        sd[first].view(-1)[0] = float("nan")
    save_file(sd, str(path))
    assert torch.isfinite(next(iter(sd.values()))).all() != poison
    return path


def test_onnx_without_backend_runs_the_onnx(tmp_path, capsys):
    """`--onnx m.onnx` alone used to run torch with the shipped weights; the backend now follows the file."""
    from edgevsr.backends.registry import make_runner, runner_config

    onnx = tmp_path / "b.onnx"
    code, err = run_main(["quantize", "bicubic", "-o", str(onnx), "--size", "48x32"], capsys)
    assert code == 0, err
    runner, source = make_runner(runner_config(onnx=onnx))
    assert runner.name == "onnxruntime" and str(onnx) in source
    with pytest.raises(EdgeVSRError, match="--onnx"):
        runner_config(onnx=tmp_path / "m.bin")


def test_nan_weights_are_refused_not_written_as_black_video(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", moving_clip(3, 32, 48))
    bad = _espcn(tmp_path / "nan.safetensors", poison=True)
    code, err = run_main(["upscale", str(src), "-o", str(tmp_path / "x4.mp4"), "--model", "espcn",
                          "--weights", str(bad)], capsys)
    assert code == 2 and "NaN" in err.splitlines()[-1], err
    assert not (tmp_path / "x4.mp4").exists()


def test_non_finite_output_is_an_error(tmp_path):
    """Whatever the backend, a model whose first output is not finite stops the run (no black video)."""
    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.stream import FrameUpscaler

    runner, _ = make_runner(RunnerConfig(model="espcn", weights=str(_espcn(tmp_path / "w.safetensors"))))
    with runner:
        p = next(runner.model.parameters())
        with __import__("torch").no_grad():
            p.view(-1)[0] = float("nan")
        with pytest.raises(EdgeVSRError, match="not finite"):
            FrameUpscaler(runner).push(moving_clip(1, 32, 48)[0])


def test_damaged_shipped_weights_are_caught_by_the_card(tmp_path, monkeypatch):
    import edgevsr.weights as w

    files = tmp_path / "files"
    shutil.copytree(w.FILES, files, ignore=shutil.ignore_patterns("egvsr-*", "frvsr-*", "tecogan-stage1*"))
    card = json.loads((files / "tecogan-stage2.json").read_text())
    assert len(card["sha256"]) == 64  # every shipped card records its file's hash
    st = files / "tecogan-stage2.safetensors"
    data = bytearray(st.read_bytes())
    data[-100] ^= 0x01  # one flipped bit inside a weight: still a valid safetensors file
    st.write_bytes(bytes(data))
    monkeypatch.setattr(w, "FILES", files)
    with pytest.raises(EdgeVSRError, match="SHA-256"):
        w.load_model("tecogan", "tecogan-stage2")


def test_every_shipped_card_matches_its_file():
    import hashlib

    from edgevsr.weights import shipped_weights

    for card in shipped_weights().values():
        assert card.info["sha256"] == hashlib.sha256(card.path.read_bytes()).hexdigest(), card.name


def test_frames_that_would_share_an_output_name_are_refused(tmp_path, capsys):
    d = tmp_path / "frames"
    d.mkdir()
    a, b = moving_clip(2, 32, 48)
    cv2.imwrite(str(d / "im1.png"), a)
    cv2.imwrite(str(d / "im1.jpg"), b)
    cv2.imwrite(str(d / "im2.png"), b)
    code, err = run_main(["upscale", str(d), "-o", str(tmp_path / "x4"), "--model", "bicubic"], capsys)
    assert code == 2 and "im1" in err.splitlines()[-1], err
    assert not (tmp_path / "x4").exists()


def test_eval_refuses_outputs_that_were_never_upscaled(tmp_path, capsys):
    gt, lr = tmp_path / "gt", tmp_path / "lr"
    gt.mkdir()
    lr.mkdir()
    for i, f in enumerate(moving_clip(3, 128, 192)):
        cv2.imwrite(str(gt / f"{i}.png"), f)
        cv2.imwrite(str(lr / f"{i}.png"), f[::4, ::4])
    code, err = run_main(["eval", str(lr), "--gt", str(gt), "--no-lpips", "--no-tof"], capsys)
    assert code == 2 and "48x32" in err.splitlines()[-1] and "192x128" in err.splitlines()[-1], err
    assert np.ndim(0) == 0
