"""Issue 28, priority 6: `edgevsr batch` and Ray. A model that cannot load is one line naming the file, a refused
run leaves no journal behind, a Ray found through $RAY_ADDRESS does not stop a local run, and SIGTERM ends the
run with one line and exit 143 (no Ray INFO lines, no stack dump)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import pan
from conftest import write_video

CLI = [sys.executable, "-c", "from edgevsr.cli.main import main; main()", "batch"]
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def test_a_model_that_cannot_load_is_one_line_and_leaves_no_journal(tmp_path):
    src = write_video(tmp_path / "v.mp4", pan(4), fps=24)
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"not weights")
    r = subprocess.run(CLI + [str(src), "-o", str(tmp_path / "out"), "--model", "egvsr-lite", "--weights", str(bad)],
                       capture_output=True, text=True, timeout=300, env=ENV)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and lines[-1].startswith("edgevsr: error: ") and "w.safetensors" in lines[-1], r.stderr
    assert "Traceback" not in r.stderr and "ActorDied" not in r.stderr and "\x1b[" not in r.stderr
    assert not (tmp_path / "out").exists(), list((tmp_path / "out").rglob("*"))


@pytest.mark.slow
def test_local_run_despite_ray_address_and_sigterm_is_one_line_143(tmp_path):
    pytest.importorskip("ray")
    src = write_video(tmp_path / "v.mp4", pan(120), fps=24)
    out = tmp_path / "out"
    env = {**ENV, "RAY_ADDRESS": "127.0.0.1:9"}  # a cluster that is not there: `batch` without --address ignores it
    p = subprocess.Popen(CLI + [str(src), "-o", str(out), "--model", "bicubic", "--chunk-seconds", "0.25",
                                "--scene-cut", "0"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and p.poll() is None and not list(out.rglob("segments/*.nut")):
        time.sleep(0.2)
    assert p.poll() is None, p.communicate()[1][-3000:]
    assert list(out.rglob("segments/*.nut")), "the run never got going"
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    lines = [x for x in err.splitlines() if x.strip()]
    assert p.returncode == 143, err[-3000:]
    assert lines[-1] == "edgevsr: stopped by SIGTERM", err[-3000:]
    assert "Traceback" not in err and " INFO " not in err and "WARNING" not in err and "\x1b[" not in err, err
    assert not (out / "v.mp4").exists() and not list(out.rglob(".*partial*"))
    assert Path(out / ".edgevsr-batch" / "journal.jsonl").exists()  # what finished can be resumed


def test_a_worker_error_is_our_line_not_rays_dump():
    from edgevsr.batch.job import _cause

    dump = ("The actor died because of an error raised in its creation task, ray::UpscaleWorker.__init__() "
            "(pid=1, ip=127.0.0.1)\n  File \"workers.py\", line 60, in __init__\n    self.runner, self.source = "
            "make_runner(cfg)\nedgevsr.errors.EdgeVSRError: m.engine: TensorRT engine built for another GPU\n")
    assert _cause(RuntimeError(dump)) == "m.engine: TensorRT engine built for another GPU"
