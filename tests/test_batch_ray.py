"""edgevsr batch on a real local Ray (2 model actors): a mixed library, and a worker killed mid-job."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from batch_helpers import decode, library, shots, stream_types
from conftest import write_video

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.batch.job import run_batch
from edgevsr.quality.metrics import psnr
from edgevsr.upscale import upscale_file

ray = pytest.importorskip("ray", reason="edgevsr[cluster] (Ray) not installed")
pytestmark = pytest.mark.slow
LITE = RunnerConfig(model="egvsr-lite")


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # its token file in ~/.ray is shared by every Ray here
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def reference(src, tmp_path):
    """What `edgevsr upscale --crf 0` gives for the whole video."""
    runner, _ = make_runner(LITE)
    out = tmp_path / f"ref-{src.stem}.mp4"
    upscale_file(runner, src, out, crf=0)
    return decode(out)[0]


def test_library_of_three_on_two_workers(local_ray, tmp_path):
    vids = library(tmp_path / "in")
    events = []
    s = run_batch([tmp_path / "in"], tmp_path / "out", LITE, on_progress=events.append, workers=2,
                  chunk_seconds=8 / 24, crf=0)
    rows = {r["input"].rsplit("/", 1)[-1]: r for r in s["inputs"]}
    assert rows["a.mp4"]["status"] == "ok" and rows["b.mp4"]["status"] == "ok"
    assert rows["c.mp4"]["status"] == "failed" and "c.mp4: not a readable video" in rows["c.mp4"]["error"]
    assert s["failed"] == 1 and not (tmp_path / "out" / "c.mp4").exists()
    assert rows["b.mp4"]["scene_cuts"] == 1 and rows["a.mp4"]["chunks"] == 2
    assert {w["name"] for w in s["workers"]} == {"worker-0", "worker-1"}
    assert sum(w["frames"] for w in s["workers"]) == 32 == s["frames"]
    assert events[-1].done == events[-1].total == 32
    out_a, out_b = tmp_path / "out" / "a.mp4", tmp_path / "out" / "sub" / "b.mp4"
    assert stream_types(out_a) == ["video", "audio"] and stream_types(out_b) == ["video"]
    assert decode(out_a)[1] == pytest.approx(decode(vids["a"])[1], abs=1e-6)  # timestamps preserved
    # b: both chunks start at a shot boundary -> the same pictures as one sequential `upscale`
    got_b, ref_b = decode(out_b)[0], reference(vids["b"], tmp_path)
    assert len(got_b) == 16 and all(np.array_equal(x, y) for x, y in zip(got_b, ref_b))
    # a: the second chunk starts mid-shot after an 8-frame lead-in
    got_a, ref_a = decode(out_a)[0], reference(vids["a"], tmp_path)
    assert all(np.array_equal(x, y) for x, y in zip(got_a[:8], ref_a[:8]))
    assert min(psnr(x, y) for x, y in zip(got_a[8:], ref_a[8:])) >= 45.0
    assert not any((tmp_path / "out").rglob(".*partial*"))


def test_killed_worker_chunk_is_retried_and_output_identical(local_ray, tmp_path):
    src = write_video(tmp_path / "in" / "v.mp4" if (tmp_path / "in").mkdir() is None else None,
                      shots([6, 6, 6, 6, 6]), fps=24)
    killed = []

    def kill_once(p):
        if p.event == "chunk" and not killed:
            killed.append(p.detail["pid"])
            os.kill(p.detail["pid"], signal.SIGKILL)  # the actor that just finished already runs its next chunk

    s = run_batch([src], tmp_path / "out", LITE, on_progress=kill_once, workers=2, chunk_seconds=10, crf=0)
    row = s["inputs"][0]
    assert killed and row["status"] == "ok", row
    assert row["retries"] >= 1 and row["chunks"] == 5 and row["scene_cuts"] == 4
    got, ref = decode(tmp_path / "out" / "v.mp4")[0], reference(src, tmp_path)
    assert len(got) == 30 and all(np.array_equal(x, y) for x, y in zip(got, ref))
