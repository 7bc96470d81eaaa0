"""`edgevsr run` end to end: same frames as `edgevsr upscale`, one-line errors, Ctrl-C finalises the output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import moving_clip, write_video
from typer.testing import CliRunner

from edgevsr.cli.main import app
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource

CLI = [sys.executable, "-c", "from edgevsr.cli.main import main; main()"]


def test_run_file_to_file_equals_upscale(tmp_path):
    src = write_video(tmp_path / "x.mp4", moving_clip(12, 32, 48), fps=25, audio=True)
    runner = CliRunner()
    a = runner.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "a.mp4"), "--model", "bicubic"])
    assert a.exit_code == 0, a.output
    b = runner.invoke(app, ["run", "--source", f"file://{src}", "--sink", f"file://{tmp_path / 'y.mp4'}",
                            "--model", "bicubic"])
    assert b.exit_code == 0, b.output
    fa, fb = FrameSource(tmp_path / "a.mp4"), FrameSource(tmp_path / "y.mp4")
    assert fb.info.has_audio == fa.info.has_audio is True and fb.info.fps == fa.info.fps
    frames_a, frames_b = list(fa), list(fb)
    assert len(frames_a) == len(frames_b) == 12
    for x, y in zip(frames_a, frames_b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("args, message", [
    (["--source", "foo://x"], "unknown source scheme 'foo://'"),
    (["--source", "test://?frames=3", "--sink", "/no/such/dir/o.mp4"], "output folder /no/such/dir does not exist"),
])
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    sink = [] if "--sink" in args else ["--sink", "null://"]
    r = subprocess.run(CLI + ["run", "--model", "bicubic"] + args + sink,
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgevsr: error: ") and message in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--source", "v4l2:///dev/video77"], "/dev/video77: no such camera device"),
    (["--source", "test://?frames=3", "--policy", "sometimes"], "policy must be one of"),
    (["--source", "test://?frames=3", "--width", "64"], "give both width and height"),
    (["--source", "test://?frames=3", "--sink", "{tmp}/o.mp4", "--codec", "nocodec"], "unknown video encoder"),
    (["--source", "test://?frames=3", "--sink", "display://0"], "no $DISPLAY"),
])
def test_bad_input_fails_before_the_model_loads(args, message, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    sink = [] if "--sink" in args else ["--sink", "null://"]
    # egvsr has no shipped weights yet: reaching the model would fail with a different message
    r = CliRunner().invoke(app, ["run", "--model", "egvsr"] + args + sink)
    assert isinstance(r.exception, EdgeVSRError) and message in str(r.exception), r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig, reason", [(signal.SIGINT, "interrupted (Ctrl-C)"),
                                         (signal.SIGTERM, "stopped by SIGTERM")])
def test_stop_signal_finalises_the_output(tmp_path, sig, reason):
    """Ctrl-C and SIGTERM (systemd, docker) both end a live recording with a valid file of what was recorded."""
    out = tmp_path / "live.mp4"
    p = subprocess.Popen(CLI + ["run", "--source", "test://?width=48&height=32&fps=25", "--sink", str(out),
                                "--model", "bicubic"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=tmp_path)
    deadline = time.time() + 90
    while not list(tmp_path.glob(".live.*.partial.mp4")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # some frames in
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert reason in err
    n = sum(1 for _ in FrameSource(out))
    assert n >= 5 and f"{n} frames shown" in err.replace("\n", " ")
    assert [x.name for x in tmp_path.iterdir()] == ["live.mp4"]
