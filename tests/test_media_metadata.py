"""Issue 28, priorities 2 and 3: what a video says about itself survives every command. Batch refuses a truncated
input as `upscale` does; stitched outputs declare the source's duration, frame rate and last-frame duration;
rotation and 10-bit depth are kept by `upscale` and `batch` alike; a VFR Matroska file is not called truncated.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from tests.conftest import moving_clip, mux_silence, write_video
from tests.test_bad_inputs import run_main, truncated_video

BICUBIC = ["--model", "bicubic"]


def batch_locally(src: Path, out: Path, max_frames: int, model: str = "bicubic", scene_cut: float = 0.0) -> dict:
    """The batch path without Ray: probe, plan, upscale each chunk on a worker's code, stitch."""
    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.batch.chunks import plan_chunks, probe_video
    from edgevsr.batch.stitch import stitch
    from edgevsr.batch.workers import upscale_chunk

    plan = probe_video(src, scene_cut)
    runner, _ = make_runner(RunnerConfig(model=model))
    segs = []
    with runner:
        for c in plan_chunks(0, plan, max_frames, 0):
            data, stamps = upscale_chunk(runner, src, plan, c, 18)
            seg = out.with_name(f"seg{c.index}.nut")
            seg.write_bytes(data)
            segs.append((seg, stamps))
    return stitch(segs, src, plan.time_base, out, plan)


def video_facts(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        packets = sorted((p for p in c.demux(v) if p.size), key=lambda p: p.pts)
        facts = {"rate": v.average_rate, "video_s": float(v.duration * v.time_base),
                 "last_s": float(packets[-1].duration * v.time_base)}
        if c.streams.audio:
            a = c.streams.audio[0]
            facts["audio_s"] = float(a.duration * a.time_base)
    with av.open(str(path)) as c:
        first = next(c.decode(video=0))
        facts["rotation"], facts["pix_fmt"] = first.rotation, first.format.name
    return facts


def test_batch_probe_refuses_a_truncated_input_as_upscale_does(tmp_path):
    from edgevsr.batch.chunks import probe_video

    cut = truncated_video(tmp_path / "cut.mp4", frames=50, keep=0.6)
    with pytest.raises(EdgeVSRError, match="damaged or truncated"):
        probe_video(cut, 0.1)


@pytest.mark.parametrize("max_frames", [30, 12])
def test_stitched_output_declares_the_source_duration_and_rate(tmp_path, max_frames):
    src = write_video(tmp_path / "a.mp4", moving_clip(30, 48, 64), fps=25, audio=True)
    batch_locally(src, tmp_path / "o.mp4", max_frames)
    got, want = video_facts(tmp_path / "o.mp4"), video_facts(src)
    assert got["rate"] == 25
    assert got["video_s"] == pytest.approx(1.2, abs=1e-3)
    assert got["last_s"] == pytest.approx(want["last_s"], abs=1e-4) == pytest.approx(0.04, abs=1e-4)
    assert abs(got["audio_s"] - got["video_s"]) <= 0.04


def test_segments_of_every_length_stitch_with_rising_decode_times(tmp_path):
    """Cuts at most frames give one-frame segments beside longer ones whose encoder used B-frames: each
    segment's decode times start early, so copied as recorded they stepped backwards at the seams."""
    src = write_video(tmp_path / "a.mp4", moving_clip(30, 48, 64), fps=25)
    batch_locally(src, tmp_path / "o.mp4", 6, scene_cut=0.1)
    with av.open(str(tmp_path / "o.mp4")) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == pytest.approx([i / 25 for i in range(30)], abs=1e-3)


def rotated_clip(path: Path, degrees: int, n: int = 6) -> Path:
    """A phone-style clip: landscape pixels with a display matrix that says to show them rotated."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=25)
        vs.height, vs.width, vs.pix_fmt = 32, 48, "yuv420p"
        vs.set_display_rotation(degrees)
        for f in moving_clip(n, 32, 48):
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return path


def test_upscale_keeps_the_rotation(tmp_path, capsys):
    src = rotated_clip(tmp_path / "portrait.mp4", 90)
    code, err = run_main(["upscale", str(src), "-o", str(tmp_path / "x4.mp4"), *BICUBIC], capsys)
    assert code == 0, err
    assert video_facts(tmp_path / "x4.mp4")["rotation"] == 90


def test_batch_keeps_the_rotation(tmp_path):
    src = rotated_clip(tmp_path / "portrait.mp4", -90)
    batch_locally(src, tmp_path / "o.mp4", 4)
    assert video_facts(tmp_path / "o.mp4")["rotation"] == -90


def test_upscale_keeps_10_bit_as_batch_does(tmp_path, capsys):
    from tests.test_batch_plan import pan, write_10bit

    src = write_10bit(tmp_path / "deep.mkv", pan(4))
    code, err = run_main(["upscale", str(src), "-o", str(tmp_path / "x4.mkv"), "--model", "bicubic-bd",
                          "--crf", "0"], capsys)
    assert code == 0, err
    with av.open(str(tmp_path / "x4.mkv")) as c:
        cc = c.streams.video[0].codec_context
        assert cc.pix_fmt == "yuv420p10le"
        assert (cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range) == (1, 1, 1, 1)
        frame = next(c.decode(video=0)).to_ndarray(format="rgb48le")
    assert (frame % 257 != 0).mean() > 0.5  # values between 8-bit steps survive


def vfr_mkv(path: Path, times: list[float]) -> Path:
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=30)
        vs.height, vs.width, vs.pix_fmt = 32, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 1000)
        a = c.add_stream("aac", rate=44100)
        for f, t in zip(moving_clip(len(times), 32, 48), times, strict=True):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = round(t * 1000), Fraction(1, 1000)
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        mux_silence(c, a, times[-1] + 0.5)
    return path


def test_a_vfr_matroska_file_is_not_called_truncated(tmp_path):
    times = [0.0, 0.033, 0.5, 0.533, 1.0, 1.5, 1.533, 2.0]  # long holds: duration x rate >> frame count
    src = vfr_mkv(tmp_path / "vfr.mkv", times)
    frames = list(FrameSource(src))
    assert len(frames) == len(times)


def test_a_truncated_matroska_file_is_still_refused(tmp_path):
    cut = truncated_video(tmp_path / "cut.mkv", frames=120, keep=0.5)
    with pytest.raises(EdgeVSRError, match="decoding stopped after frame"):
        list(FrameSource(cut))
    assert np.ndim(0) == 0
