"""Issue 28, priority 5: numbers out of range are one line naming the flag, exit 2, before anything runs or is
written (edgevsr/checks.py holds the checks; the CLI and the API go through the same ones)."""

from __future__ import annotations

import math

import pytest

from edgevsr.errors import EdgeVSRError
from tests.conftest import moving_clip, run_cli, write_video
from tests.test_bad_inputs import run_main

BICUBIC = ["--model", "bicubic"]
CASES = {
    "upscale scene-cut -1": (["upscale", "{c}", "-o", "{o}/x.mp4", "--scene-cut", "-1", *BICUBIC], "--scene-cut"),
    "upscale scene-cut nan": (["upscale", "{c}", "-o", "{o}/x.mp4", "--scene-cut", "nan", *BICUBIC], "--scene-cut"),
    "run scene-cut nan": (["run", "-i", "{c}", "-o", "null://", "--scene-cut", "nan", *BICUBIC], "--scene-cut"),
    "run stall-timeout 0": (["run", "-i", "{c}", "-o", "null://", "--stall-timeout", "0", *BICUBIC],
                            "--stall-timeout"),
    "run fps -5": (["run", "-i", "test://", "-o", "null://", "--fps", "-5", *BICUBIC], "--fps"),
    "batch workers 0": (["batch", "{c}", "-o", "{o}/lib", "--workers", "0", *BICUBIC], "--workers"),
    "batch workers -2": (["batch", "{c}", "-o", "{o}/lib", "--workers", "-2", *BICUBIC], "--workers"),
    "batch chunk-seconds 0": (["batch", "{c}", "-o", "{o}/lib", "--chunk-seconds", "0", *BICUBIC], "--chunk-seconds"),
    "batch chunk-seconds -1": (["batch", "{c}", "-o", "{o}/lib", "--chunk-seconds", "-1", *BICUBIC],
                               "--chunk-seconds"),
    "batch lead-in -1": (["batch", "{c}", "-o", "{o}/lib", "--lead-in", "-1", *BICUBIC], "--lead-in"),
    "batch crf -1": (["batch", "{c}", "-o", "{o}/lib", "--crf", "-1", *BICUBIC], "--crf"),
    "batch scene-cut nan": (["batch", "{c}", "-o", "{o}/lib", "--scene-cut", "nan", *BICUBIC], "--scene-cut"),
    "eval border -3": (["eval", "{o}/..", "--gt", "{o}/..", "--border", "-3", "--no-lpips"], "--border"),
    "quantize speed-runs 0": (["quantize", "bicubic", "-o", "{o}/q.onnx", "--speed-runs", "0"], "--speed-runs"),
    "quantize gt-frames 0": (["quantize", "bicubic", "-o", "{o}/q.onnx", "--gt-frames", "0"], "--gt-frames"),
    "demo frames 0": (["demo", "-o", "{o}/demo", "--frames", "0"], "--frames"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_out_of_range_numbers_are_one_line_naming_the_flag(name, tmp_path, capsys, monkeypatch):
    args, flag = CASES[name]
    monkeypatch.chdir(tmp_path)
    clip = write_video(tmp_path / "c.mp4", moving_clip(2, 32, 48))
    out = tmp_path / "out"
    out.mkdir()
    code, err = run_main([a.replace("{c}", str(clip)).replace("{o}", str(out)) for a in args], capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 2 and lines[-1].startswith("edgevsr: error: " + flag), err
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4", "out"]


@pytest.mark.parametrize("w, h", [(-4, 3), (0, 5), (3, 0), (2.5, 3), ("a", 3), (float("nan"), 3)])
def test_size_refuses_what_is_not_a_frame_size(w, h):
    from edgevsr import Size

    with pytest.raises(EdgeVSRError, match="positive whole"):
        Size(w, h)
    assert Size(480, 272).hw == (272, 480)


def test_api_arguments_go_through_the_same_checks(tmp_path):
    import edgevsr
    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.stream import FrameUpscaler

    clip = write_video(tmp_path / "c.mp4", moving_clip(2, 32, 48))
    with pytest.raises(EdgeVSRError, match="--scene-cut"):
        edgevsr.upscale(clip, tmp_path / "x.mp4", model="bicubic", scene_cut=math.nan)
    with pytest.raises(EdgeVSRError, match="--workers"):
        edgevsr.run_batch([clip], tmp_path / "lib", workers=-2)
    with pytest.raises(EdgeVSRError, match="scene_cut"):
        FrameUpscaler(make_runner(RunnerConfig(model="bicubic"))[0], scene_cut=-1)
    with pytest.raises(EdgeVSRError, match="--border"):
        edgevsr.evaluate(tmp_path, tmp_path, border=-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]


@pytest.mark.parametrize("args", [["eval", "--border", "1.5"], ["nope"], ["upscale"], ["upscale", "x.mp4", "--bogus"]])
def test_usage_errors_are_one_line_exit_2(args):
    """click's own usage errors (a non-number, an unknown command or option, a missing argument) are one line."""
    code, err = run_cli(*args)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("edgevsr: error: "), err
