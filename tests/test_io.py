"""Video / folder / image I/O on real encoded files, and every bad input the issue names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import moving_clip, write_video

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from edgevsr.io.writers import FrameSink


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevsr.cli.main", *args], capture_output=True, text=True)


def test_video_round_trip_keeps_count_fps_and_audio(tmp_path, clip):
    src = write_video(tmp_path / "in.mp4", clip, fps=24, audio=True)
    info = FrameSource(src).info
    assert (info.width, info.height, info.fps, info.has_audio) == (96, 64, 24.0, True)
    frames = list(FrameSource(src))
    assert len(frames) == len(clip)
    luma = [cv2.cvtColor(f, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int) for f in (frames[3], clip[3])]
    assert np.abs(luma[0] - luma[1]).mean() < 5  # H.264 4:2:0 is lossy, not broken (a wrong frame gives ~30)
    with FrameSink(tmp_path / "out.mkv", fps=info.fps, audio_from=src) as sink:
        for f in frames:
            sink.write(f)
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == len(clip)


def test_folder_is_read_in_natural_order(tmp_path):
    clip = moving_clip(11)
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), clip[i][..., ::-1])
    src = FrameSource(tmp_path)
    assert src.info.names == ["im1.png", "im2.png", "im10.png"]
    assert np.array_equal(list(src)[2], clip[10])


@pytest.mark.parametrize("kind,expect", [("alpha", "alpha"), ("16bit", "16-bit"), ("grey", "single-channel")])
def test_unsupported_images_are_named(tmp_path, kind, expect):
    img = {"alpha": np.zeros((8, 8, 4), np.uint8), "16bit": np.zeros((8, 8, 3), np.uint16),
           "grey": np.zeros((8, 8), np.uint8)}[kind]
    cv2.imwrite(str(tmp_path / "x.png"), img)
    with pytest.raises(EdgeVSRError, match=f"x.png: .*{expect}"):
        FrameSource(tmp_path / "x.png")


def test_size_change_mid_stream_is_refused(tmp_path, clip):
    cv2.imwrite(str(tmp_path / "a1.png"), clip[0])
    cv2.imwrite(str(tmp_path / "a2.png"), clip[1][:32])
    with pytest.raises(EdgeVSRError, match="frame 1 is 96x32"):
        list(FrameSource(tmp_path))


def test_truncated_and_empty_videos(tmp_path, clip):
    src = write_video(tmp_path / "in.mp4", clip)
    (tmp_path / "cut.mp4").write_bytes(src.read_bytes()[: 400])
    with pytest.raises(EdgeVSRError, match="cut.mp4"):
        list(FrameSource(tmp_path / "cut.mp4"))
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(EdgeVSRError, match="empty.mp4: not a readable video"):
        FrameSource(tmp_path / "empty.mp4")


def test_failed_write_leaves_nothing_under_the_final_name(tmp_path, clip):
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), FrameSink(out, fps=24) as sink:
        sink.write(clip[0])
        raise RuntimeError("simulated crash")
    assert list(tmp_path.iterdir()) == []


def test_upscale_cli_bicubic_video(tmp_path):
    clip = moving_clip(6, 40, 56)
    src = write_video(tmp_path / "in.mp4", clip, fps=30, audio=True)
    r = cli("upscale", str(src), "-o", str(tmp_path / "out.mp4"), "--model", "bicubic")
    assert r.returncode == 0, r.stderr
    info = FrameSource(tmp_path / "out.mp4").info
    assert (info.width, info.height, info.fps, info.has_audio) == (224, 160, 30.0, True)
    assert len(list(FrameSource(tmp_path / "out.mp4"))) == 6


@pytest.mark.parametrize("args,msg", [
    (["missing.mp4", "-o", "{t}/o.mp4"], "missing.mp4: no such file"),
    (["{src}", "-o", "{t}/nodir/o.mp4"], "output folder"),
    (["{src}", "-o", "{t}/o.mp4", "--model", "egvsr", "--weights", "{src}"], "in.mp4: cannot read weights"),
    (["{src}", "-o", "{t}/o.mp4", "--model", "nope"], "unknown model 'nope'"),
])
def test_upscale_cli_bad_input_is_one_line(tmp_path, args, msg):
    src = write_video(tmp_path / "in.mp4", moving_clip(2, 16, 16))
    r = cli("upscale", *[a.format(t=tmp_path, src=src) for a in args])
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 or r.stderr.count("error:") == 1
    assert not (Path(tmp_path) / "o.mp4").exists()
