"""Issue 28, priority 7: odds and ends. Degenerate sizes, raw frames handed to FrameUpscaler, library log lines
(torch, OpenCV, FFmpeg) and the progress bar never get in the way of one clear line."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from edgevsr.errors import EdgeVSRError
from tests.conftest import moving_clip, write_video
from tests.test_bad_inputs import run_main

CLI = [sys.executable, "-c", "from edgevsr.cli.main import main; main()"]


def test_frame_upscaler_refuses_what_is_not_an_rgb_frame():
    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.stream import FrameUpscaler

    up = FrameUpscaler(make_runner(RunnerConfig(model="bicubic"))[0])
    frame = moving_clip(1, 16, 24)[0]
    with pytest.raises(EdgeVSRError, match="HxWx3"):
        up.push(frame[..., 0])  # 2-D (grey)
    with pytest.raises(EdgeVSRError, match="float32"):
        up.push(frame.astype(np.float32) / 255)  # floats used to pass silently
    assert up.push(frame)[0].shape == (64, 96, 3)


@pytest.mark.parametrize("command", ["eval", "degrade"])
def test_frames_too_small_to_degrade_are_one_line(command, tmp_path, capsys):
    seq = tmp_path / "gt" / "s"
    seq.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(seq / f"{i}.png"), np.full((2, 3, 3), 100 + i, np.uint8))
    args = (["eval", "--model", "bicubic", "--gt", str(tmp_path / "gt"), "--degrade", "BD", "--no-lpips"]
            if command == "eval" else ["degrade", str(seq), str(tmp_path / "lr")])
    code, err = run_main(args, capsys)
    assert code == 2 and "3x2" in err.splitlines()[-1] and "internal error" not in err, err
    assert not (tmp_path / "lr").exists()


def test_torch_pickle_advice_does_not_leak(tmp_path, capsys):
    import torch

    from edgevsr.models import build_model

    torch.save(build_model("espcn").state_dict(), tmp_path / "w.pkl", pickle_protocol=4)
    src = write_video(tmp_path / "in.mp4", moving_clip(2, 32, 48))
    code, err = run_main(["upscale", str(src), "-o", str(tmp_path / "x.mp4"), "--model", "espcn", "--weights",
                          str(tmp_path / "w.pkl")], capsys)
    assert "pickle protocol" not in err and "warning" not in err, err


def test_unreachable_stream_is_our_line_only(tmp_path):
    r = subprocess.run(CLI + ["run", "-i", "rtsp://127.0.0.1:9/none", "-o", "null://", "--model", "bicubic"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and lines[-1].startswith("edgevsr: error: rtsp://127.0.0.1:9/none"), r.stderr
    assert not any(x.startswith("[") for x in lines), r.stderr  # FFmpeg's "[tcp @ ...]", OpenCV's "[ WARN:0]"


def test_an_early_error_draws_no_progress_bar_and_lines_do_not_wrap(tmp_path):
    r = subprocess.run(CLI + ["upscale", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "x.mp4"), "--model",
                              "bicubic"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [r.stderr.strip()], r.stderr
    deep = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2)
    deep.mkdir()
    src = write_video(deep / "in.mp4", moving_clip(2, 32, 48))
    r = subprocess.run(CLI + ["upscale", str(src), "-o", str(deep / "x4.mp4"), "--model", "bicubic"],
                       capture_output=True, text=True, timeout=120)
    wrote = [x for x in r.stderr.splitlines() if x.startswith("wrote ")]
    assert r.returncode == 0 and len(wrote) == 1 and wrote[0].endswith("frames/s)"), r.stderr
