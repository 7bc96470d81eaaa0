"""The live pipeline with real parts: real runners, real files, real threads and queues.

Plumbing only: bicubic (no weights) and, for recurrent state, an untrained
egvsr-lite (``allow_random``): no quality is judged here.
"""

from __future__ import annotations

import os
import shutil
import time
import tracemalloc

import cv2
import numpy as np
import pytest
from conftest import moving_clip, write_video

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.edge.pipeline import Pipeline, is_scene_cut, thumbnail
from edgevsr.edge.sinks import FileSink, NullSink, make_sink
from edgevsr.edge.sources import CaptureSource, FileSource, IterableSource, TestPatternSource, make_source
from edgevsr.edge.uri import parse_uri
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from edgevsr.stream import FrameUpscaler

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def bicubic() -> FrameUpscaler:
    return FrameUpscaler(make_runner(RunnerConfig(model="bicubic"))[0])


class SlowRunner(TorchRunner):
    """A real bicubic runner that takes ``delay`` seconds more per frame: an upscaler that falls behind."""

    def __init__(self, delay: float):
        runner = make_runner(RunnerConfig(model="bicubic"))[0]
        super().__init__(runner.model, runner.spec)
        self.delay = delay

    def infer_impl(self, *inputs):
        time.sleep(self.delay)
        return super().infer_impl(*inputs)


def recorder():
    seen = []
    return seen, lambda hr, meta: seen.append((meta, hr))


def test_file_to_file_counts_order_timestamps(tmp_path):
    frames = moving_clip(30, 32, 48)
    src_path = write_video(tmp_path / "in.mp4", frames, fps=24)
    seen, on_frame = recorder()
    out = tmp_path / "out.mp4"
    stats = Pipeline(FileSource(src_path), bicubic(), FileSink(out), on_frame=on_frame).run()
    assert (stats.captured, stats.shown, stats.dropped) == (30, 30, 0)
    assert [m.index for m, _ in seen] == list(range(30))
    for m, _ in seen:
        assert m.t_capture <= m.t_upscaled <= m.t_shown
    assert all(a.t_capture < b.t_capture for (a, _), (b, _) in zip(seen, seen[1:]))
    assert stats.in_size == (48, 32) and stats.out_size == (192, 128)
    decoded = FrameSource(out)
    assert decoded.info.fps == pytest.approx(24) and (decoded.info.width, decoded.info.height) == (192, 128)
    assert sum(1 for _ in decoded) == 30
    assert not list(tmp_path.glob(".*partial*"))


def test_test_pattern_through_null_sink_frames_are_the_pattern():
    src = TestPatternSource(48, 32, frames=40, realtime=False)
    seen, on_frame = recorder()
    stats = Pipeline(src, bicubic(), NullSink(), on_frame=on_frame).run()
    assert stats.shown == 40 and [m.index for m, _ in seen] == list(range(40))
    ref = bicubic()
    ref.runner.activate()
    for m, hr in seen[::7]:  # the frame a meta names is the frame that was upscaled
        np.testing.assert_array_equal(hr, ref.push(src.frame(m.index))[0])
        np.testing.assert_array_equal(m.lr, src.frame(m.index))


def test_no_growth_over_thousands_of_frames():
    src = TestPatternSource(24, 16, frames=2500, realtime=False)
    samples = {}

    def sample(hr, meta):
        if meta.index in (500, 2499):
            samples[meta.index] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        pipe = Pipeline(src, bicubic(), NullSink(), on_frame=sample)
        stats = pipe.run()
    finally:
        tracemalloc.stop()
    assert stats.shown == 2500 and stats.dropped == 0
    growth = samples[2499] - samples[500]
    # one leaked HR frame per step would be 2000 x 6 KB = 12 MB; bounded stats reach their caps by frame 1000
    assert growth < 256 * 1024, f"traced memory grew {growth / 1024:.0f} KiB over 2000 frames"
    assert pipe.max_queued <= 2


def test_live_source_drops_oldest_and_resets_state():
    slow = FrameUpscaler(SlowRunner(0.03))
    src = TestPatternSource(48, 32, fps=200, frames=60, realtime=True)  # 5 ms per frame, upscaler needs 30+
    seen, on_frame = recorder()
    pipe = Pipeline(src, slow, NullSink(), on_frame=on_frame)
    assert pipe.policy == "drop"
    stats = pipe.run()
    assert stats.captured == 60
    assert stats.dropped > 10 and stats.shown + stats.dropped == stats.captured
    idx = [m.index for m, _ in seen]
    assert idx == sorted(set(idx)) and idx[-1] == 59  # in order, and the end of the stream is not lost
    assert stats.resets["drop"] > 0
    previous = {m.index: p.index for (p, _), (m, _) in zip(seen, seen[1:])}
    for m, _ in seen:
        if m.reset == "drop":
            assert m.index - previous[m.index] > 1
    assert pipe.max_queued <= 2
    ref = bicubic()
    ref.runner.activate()
    for m, hr in seen[:: max(1, len(seen) // 5)]:
        np.testing.assert_array_equal(hr, ref.push(src.frame(m.index))[0])


def test_file_source_blocks_and_loses_nothing_behind_slow_upscaler():
    src = TestPatternSource(48, 32, frames=25, realtime=False)
    seen, on_frame = recorder()
    pipe = Pipeline(src, FrameUpscaler(SlowRunner(0.01)), NullSink(), on_frame=on_frame)
    assert pipe.policy == "block"
    stats = pipe.run()
    assert stats.dropped == 0 and [m.index for m, _ in seen] == list(range(25)) and not stats.resets


def test_scene_cut_resets_recurrent_state():
    runner = make_runner(RunnerConfig(model="egvsr-lite", allow_random=True))[0]
    src = TestPatternSource(48, 32, frames=18, cuts=6, realtime=False)
    seen, on_frame = recorder()
    stats = Pipeline(src, FrameUpscaler(runner), NullSink(), on_frame=on_frame).run()
    assert list(stats.reset_log) == [(6, "scene-cut"), (12, "scene-cut")]  # panning within a scene is no cut
    fresh = FrameUpscaler(runner)
    runner.activate()
    after_cut = [fresh.push(src.frame(i))[0] for i in range(6, 12)]
    for (_, hr), ref in zip(seen[6:12], after_cut):
        np.testing.assert_array_equal(hr, ref)  # as if the clip started at the cut
    # without the reset the state carried over the cut changes the output: the check above can fail
    seen_off, on_off = recorder()
    Pipeline(TestPatternSource(48, 32, frames=8, cuts=6, realtime=False), FrameUpscaler(runner), NullSink(),
             scene_cut=0, on_frame=on_off).run()
    assert not np.array_equal(seen_off[6][1], after_cut[0])


def test_scene_cut_test_on_real_footage(fixtures):
    from edgevsr.io.frames import list_images, read_image

    frames = [read_image(p) for p in list_images(fixtures / "clip")[:30]]
    thumbs = [thumbnail(f) for f in frames]
    assert not any(is_scene_cut(a, b, 0.1) for a, b in zip(thumbs, thumbs[1:]))
    other = read_image(fixtures / "footage" / "highway_416x240.png")
    assert is_scene_cut(thumbs[-1], thumbnail(cv2.resize(other, frames[0].shape[1::-1])), 0.1)


def test_resolution_change_reconfigures_display_like_sinks_and_refuses_files(tmp_path):
    small, big = moving_clip(3, 32, 48), moving_clip(3, 40, 56, seed=1)
    stats = Pipeline(IterableSource(small + big), bicubic(), NullSink()).run()
    assert stats.shown == 6 and stats.resets["resize"] == 1
    out = tmp_path / "o.mp4"
    with pytest.raises(EdgeVSRError, match="frame size changed from 48x32 to 56x40 at frame 3"):
        Pipeline(IterableSource(small + big), bicubic(), FileSink(out)).run()
    assert list(tmp_path.iterdir()) == []  # no output, no partial file


def test_ctrl_c_finalises_the_file(tmp_path):
    out = tmp_path / "o.mp4"

    def interrupt(hr, meta):
        if meta.index == 9:
            raise KeyboardInterrupt

    src = TestPatternSource(48, 32, realtime=False)  # endless
    stats = Pipeline(src, bicubic(), FileSink(out), on_frame=interrupt).run()
    assert stats.stop_reason.startswith("interrupted")
    assert sum(1 for _ in FrameSource(out)) == 10
    assert [p.name for p in tmp_path.iterdir()] == ["o.mp4"]


def test_failure_mid_run_leaves_no_file(tmp_path):
    def frames():
        yield from moving_clip(4, 32, 48)
        raise EdgeVSRError("cam: decoder failed")

    out = tmp_path / "o.mp4"
    with pytest.raises(EdgeVSRError, match="cam: decoder failed"):
        Pipeline(IterableSource(frames()), bicubic(), FileSink(out)).run()
    assert list(tmp_path.iterdir()) == []


def test_stall_timeout(tmp_path):
    def frames():
        yield from moving_clip(3, 32, 48)
        time.sleep(30)  # a stream that hangs without closing
        yield from moving_clip(3, 32, 48)

    out = tmp_path / "o.mp4"
    t0 = time.perf_counter()
    with pytest.raises(EdgeVSRError, match="stalled: no frame for 0.5 s"):
        Pipeline(IterableSource(frames(), live=True), bicubic(), FileSink(out), stall_timeout=0.5).run()
    assert time.perf_counter() - t0 < 20
    assert list(tmp_path.iterdir()) == []


def _video_capture(path):
    return lambda: cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)


def test_camera_disconnect_retried_then_reported(tmp_path):
    """A real cv2.VideoCapture whose input disappears: reconnects back off, then one clear error."""
    cam = write_video(tmp_path / "cam.mp4", moving_clip(6, 32, 48))
    opens = []

    def open_once_then_gone():
        opens.append(time.perf_counter())
        cap = _video_capture(cam)()
        if len(opens) == 1:
            cam.rename(tmp_path / "gone.mp4")
        return cap

    src = CaptureSource("cam0", open_once_then_gone, retries=3, backoff=0.05)
    live = []
    src.on_report = live.append  # what the CLI prints as it happens
    with pytest.raises(EdgeVSRError, match="cam0: no frames .*gave up after 3 reconnect attempts"):
        Pipeline(src, bicubic(), NullSink(), policy="block").run()
    assert len(opens) == 4 and len([e for e in src.events if "reconnecting" in e]) == 3
    assert live == src.events and "reconnecting in 0.1 s (attempt 2/3)" in live[1]
    gaps = np.diff(opens[1:])
    assert (gaps[1:] > gaps[:-1] * 1.5).all()  # the delay doubles


def test_camera_reconnects_and_goes_on(tmp_path):
    cam = write_video(tmp_path / "cam.mp4", moving_clip(6, 32, 48))
    away = tmp_path / "away.mp4"
    opens = []

    def flaky():
        opens.append(1)
        if len(opens) == 1:
            cap = _video_capture(cam)()
            shutil.move(cam, away)  # "unplugged" after the first open
            return cap
        if len(opens) == 3:
            shutil.move(away, cam)  # plugged back in before the third open
        return _video_capture(cam)()

    src = CaptureSource("cam0", flaky, retries=5, backoff=0.02)
    seen, on_frame = recorder()
    stats = Pipeline(src, bicubic(), NullSink(), policy="block", max_frames=10, on_frame=on_frame).run()
    assert stats.shown == 10 and any("reconnected after 2 attempt(s)" in e for e in stats.events)
    assert stats.resets.get("drop", 0) == 0  # indices stay contiguous: a reconnect is not a drop


def test_missing_and_busy_devices(tmp_path):
    with pytest.raises(EdgeVSRError, match=r"/dev/video99: no such camera device"):
        make_source(parse_uri("v4l2:///dev/video99", "source"))
    with pytest.raises(EdgeVSRError, match="no such file or folder"):
        make_source(parse_uri(str(tmp_path / "nope.mp4"), "source"))
    never = CaptureSource("cam9", lambda: cv2.VideoCapture(str(tmp_path / "none.mp4"), cv2.CAP_FFMPEG),
                          open_hint="cannot open the camera (busy in another program, or not a capture device)")
    with pytest.raises(EdgeVSRError, match="cam9: cannot open the camera"):
        Pipeline(never, bicubic(), NullSink()).run()


@pytest.mark.skipif(not any(p.startswith("video") for p in os.listdir("/dev")), reason="no /dev/video* camera here")
def test_live_usb_camera():
    src = make_source(parse_uri(sorted(f"/dev/{p}" for p in os.listdir("/dev") if p.startswith("video"))[0],
                                "source"))
    stats = Pipeline(src, bicubic(), NullSink(), max_frames=10).run()
    assert stats.shown > 0


def test_sinks_that_cannot_open(tmp_path):
    with pytest.raises(EdgeVSRError, match="output folder .* does not exist"):
        make_sink(parse_uri(str(tmp_path / "no" / "o.mp4"), "sink")).check()
    with pytest.raises(EdgeVSRError, match="unknown video encoder 'nocodec'"):
        make_sink(parse_uri(f"file://{tmp_path}/o.mp4?codec=nocodec", "sink")).check()
    with pytest.raises(EdgeVSRError, match="codec must be h264 or h265"):
        make_sink(parse_uri("rtp://127.0.0.1:5000?codec=vp8", "sink")).check()


def test_file_source_loops_and_flips(tmp_path):
    frames = moving_clip(4, 32, 48)
    src = FileSource(write_video(tmp_path / "in.mp4", frames), loop=2, flip="horizontal")
    got = list(src.frames())
    assert len(got) == 12
    plain = list(FrameSource(tmp_path / "in.mp4"))
    np.testing.assert_array_equal(got[5], plain[1][:, ::-1])


def test_png_folder_in_png_folder_out_keeps_names(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, f in enumerate(moving_clip(3, 32, 48)):
        cv2.imwrite(str(folder / f"im{i + 1}.png"), f[..., ::-1])
    src = make_source(parse_uri(str(folder), "source"))
    Pipeline(src, bicubic(), make_sink(parse_uri(str(tmp_path / "out"), "sink"), names=src.info.names)).run()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["im1.png", "im2.png", "im3.png"]


def test_split_view_is_bicubic_left_model_right():
    from edgevsr.edge.overlay import split_view

    lr = moving_clip(1, 32, 48)[0]
    hr = np.full((128, 192, 3), 7, np.uint8)  # a "model output" unlike bicubic
    out = split_view(lr, hr, "egvsr")
    bic = cv2.resize(lr, (192, 128), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(out[:100, :90], bic[:100, :90])
    np.testing.assert_array_equal(out[:100, 100:], hr[:100, 100:])


def test_windowed_model_flushes_each_scene():
    """A 3-frame window lags one frame: at a cut the old scene's last output is flushed, none is lost."""
    runner = make_runner(RunnerConfig(model="vespcn", allow_random=True))[0]
    src = TestPatternSource(48, 32, frames=8, cuts=4, realtime=False)
    seen, on_frame = recorder()
    stats = Pipeline(src, FrameUpscaler(runner), NullSink(), on_frame=on_frame).run()
    assert [m.index for m, _ in seen] == list(range(8)) and list(stats.reset_log) == [(4, "scene-cut")]
    runner.activate()
    for start in (0, 4):
        fresh = list(FrameUpscaler(runner).run(src.frame(i) for i in range(start, start + 4)))
        for (_, hr), ref in zip(seen[start:start + 4], fresh):
            np.testing.assert_array_equal(hr, ref)
