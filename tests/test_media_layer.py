"""Issue 28, the unification: one reader (FrameSource), one writer (FrameSink, also the ``file://`` sink of the
live pipeline, timestamps kept), every reset reason decided in FrameUpscaler, and ``edgevsr.run`` as the
library function behind ``edgevsr run``."""

from __future__ import annotations

import av
import pytest

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.stream import FrameUpscaler
from tests.conftest import moving_clip
from tests.test_outputs import vfr_clip_with_audio


def test_edgevsr_run_keeps_a_file_sources_timestamps(tmp_path):
    import edgevsr

    times = [0.0, 0.033, 0.2, 0.233, 0.4, 0.6]
    src = vfr_clip_with_audio(tmp_path / "vfr.mp4", times)
    stats = edgevsr.run(str(src), f"file://{tmp_path / 'x4.mp4'}", model="bicubic")
    assert stats.shown == len(times)
    with av.open(str(tmp_path / "x4.mp4")) as c:
        got = [f.time for f in c.decode(video=0)]
        assert c.streams.audio  # audio copied, as `upscale` does
    assert got == pytest.approx(times, abs=1e-3)  # not respaced at a constant rate


def test_the_file_sink_is_the_media_layers_writer(tmp_path):
    from edgevsr.edge.sinks import make_sink
    from edgevsr.edge.uri import parse_uri
    from edgevsr.io.writers import FrameSink

    sink = make_sink(parse_uri(f"file://{tmp_path / 'o.mkv'}", "sink"))
    assert isinstance(sink, FrameSink)
    sink.check()
    sink.abort()  # nothing was written: nothing to remove, nothing left
    assert list(tmp_path.iterdir()) == []


def test_every_reset_reason_is_decided_by_the_upscaler():
    up = FrameUpscaler(make_runner(RunnerConfig(model="bicubic"))[0], scene_cut=0.1)
    a, b = moving_clip(2, 32, 48)
    up.push(a, 0)
    assert up.last_reset is None
    up.push(b, 1)
    assert up.last_reset is None  # a pan, not a cut
    up.push(255 - b, 2)
    assert up.last_reset == "scene-cut"
    up.push(255 - b, 5)
    assert up.last_reset == "drop"
    up.push(moving_clip(1, 16, 24)[0], 6)
    assert up.last_reset == "resize"
