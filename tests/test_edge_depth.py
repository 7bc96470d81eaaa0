"""`edgevsr run` keeps a 10-bit file's depth: decoded by the one reader at 10 bits, upscaled in float,
written as 10-bit video like `edgevsr upscale`; 8-bit sinks (window, GStreamer, null) get it rounded, said.

Real encoded 10-bit video made here with PyAV (small: 32x24, 4 frames) whose gradient steps by single
10-bit codes, so the low 2 bits carry picture that an 8-bit path would lose.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.cli.main import app
from edgevsr.edge import overlay
from edgevsr.edge.live import run as run_live
from edgevsr.edge.pipeline import Pipeline
from edgevsr.edge.sinks import Sink
from edgevsr.edge.sources import FileSource
from edgevsr.io.frames import FrameSource
from edgevsr.pixels import as_uint8
from edgevsr.stream import FrameUpscaler

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def gradient10(n: int = 4, h: int = 24, w: int = 32) -> list[np.ndarray]:
    """rgb48 frames on the 10-bit grid: neighbouring pixels differ by 1..13 codes of 1023 (sub-8-bit steps)."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        code = (300 + xx * 13 + yy * 3 + i * 5) % 1024
        rgb = np.stack([code, np.clip(code + 37, 0, 1023), 1023 - code], axis=-1).astype(np.uint16)
        frames.append(rgb << 6)
    return frames


CODECS = {  # codec -> (container, pix_fmt, options): H.264 High10 and HEVC Main10 (lossless), FFV1, ProRes
    "libx264": (".mkv", "yuv420p10le", {"qp": "0"}),
    "libx265": (".mkv", "yuv420p10le", {"x265-params": "lossless=1:log-level=error"}),
    "ffv1": (".mkv", "yuv422p10le", {}),
    "prores_ks": (".mov", "yuv422p10le", {}),
}


def write_10bit(folder: Path, codec: str = "libx264", n: int = 4) -> Path:
    ext, pix_fmt, opts = CODECS[codec]
    path = folder / f"deep_{codec}{ext}"
    frames = gradient10(n)
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=24)
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt, vs.options = pix_fmt, opts
        for f in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb48le")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return path


def decoded(path: Path) -> tuple[str, list[np.ndarray]]:
    with av.open(str(path)) as c:
        pix_fmt = c.streams.video[0].codec_context.pix_fmt
        return pix_fmt, [f.to_ndarray(format="rgb48le") for f in c.decode(video=0)]


class RecordingDisplay(Sink):
    """A display that keeps what it was given (a window's write(), without a window)."""

    is_display = True
    name = "display://test"

    def __init__(self):
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        self.frames.append(frame.copy())


def test_the_source_decodes_at_its_depth(tmp_path):
    src = FileSource(write_10bit(tmp_path))
    frames = list(src.frames())
    assert src.bits == 10 and src.deep and frames[0].dtype == np.uint16
    assert (frames[0] % 257 != 0).mean() > 0.5  # between 8-bit steps: the low 2 bits are there


@pytest.mark.parametrize("codec", ["libx264", "libx265", "ffv1", "prores_ks"])
def test_run_writes_10bit_like_upscale(tmp_path, codec):
    """Same input, same weights (egvsr-lite's shipped ones: a recurrent model, state carried): `run` to a
    file writes what `upscale` writes, at 10 bits, and its summary says so."""
    src = write_10bit(tmp_path, codec)
    cli = CliRunner()
    a = cli.invoke(app, ["upscale", str(src), "-o", str(tmp_path / "a.mkv"), "--model", "egvsr-lite",
                         "--crf", "0"])
    assert a.exit_code == 0, a.output
    b = cli.invoke(app, ["run", "--source", f"file://{src}", "--sink", f"file://{tmp_path / 'b.mkv'}?crf=0",
                         "--model", "egvsr-lite"])
    assert b.exit_code == 0, b.output
    (fmt_a, up), (fmt_b, live) = decoded(tmp_path / "a.mkv"), decoded(tmp_path / "b.mkv")
    assert fmt_a == fmt_b == "yuv420p10le"
    assert len(up) == len(live) == 4
    for x, y in zip(up, live):
        np.testing.assert_array_equal(x, y)
    assert (live[0] % 257 != 0).mean() > 0.5  # not squeezed through 8 bits on the way
    assert "10-bit source written as 10-bit video" in " ".join(b.output.split())


def test_deep_frames_round_to_8_bits():
    x = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1).repeat(3, axis=2)
    got = as_uint8(x)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.round(x / 257.0).astype(np.uint8))  # nearest code, full scale
    assert as_uint8(np.array([[[0, 128, 129]], [[65535, 65407, 65406]]], np.uint16)).tolist() == \
        [[[0, 0, 1]], [[255, 255, 254]]]
    assert (got != (x >> 8)).any()  # truncation would be wrong (and darker) here
    u8 = np.zeros((2, 2, 3), np.uint8)
    assert as_uint8(u8) is u8


def test_display_gets_the_deep_upscale_rounded(tmp_path):
    """The display sees the full-depth upscale rounded to 8 bits, not an 8-bit decode upscaled, nor >> 8."""
    path = write_10bit(tmp_path)
    with make_runner(RunnerConfig(model="bicubic"))[0] as runner:
        deep = list(FrameUpscaler(runner).run(FrameSource(path, deep=True)))
    shown = RecordingDisplay()
    live = make_runner(RunnerConfig(model="bicubic"))[0]
    stats = Pipeline(FileSource(path), FrameUpscaler(live), shown, overlay=False).run()
    assert stats.depth == "10-bit source shown as 8-bit on the display"
    assert "10-bit source shown as 8-bit on the display" in stats.summary()
    assert len(shown.frames) == len(deep) == 4
    for got, want in zip(shown.frames, deep):
        assert got.dtype == np.uint8 and want.dtype == np.uint16
        np.testing.assert_array_equal(got, as_uint8(want))
    assert any((f != (d >> 8)).any() for f, d in zip(shown.frames, deep))


def test_8bit_sinks_and_runners_say_so_in_one_line(tmp_path):
    path = write_10bit(tmp_path)
    lines: list[str] = []
    stats = run_live(f"file://{path}", "null://", model="bicubic", log=lines.append)
    assert stats.depth == "10-bit source sent as 8-bit to null"
    assert any(line.startswith("null://: keeps 8 bits per sample: the 10-bit picture is upscaled at full depth")
               for line in lines), lines
    lines.clear()
    seen = []
    stats = run_live(f"file://{path}", str(tmp_path / "o.mkv"), backend="opencv", log=lines.append,
                     on_frame=lambda hr, meta: seen.append(hr.dtype))
    assert any("10-bit input decoded to 8 bits: the opencv runner takes 8-bit frames only" in line
               for line in lines), lines
    assert stats.depth == "10-bit source decoded as 8-bit" and set(seen) == {np.dtype(np.uint8)}
    assert decoded(tmp_path / "o.mkv")[0] == "yuv420p"


def test_the_overlay_draws_on_deep_frames():
    """--overlay/--split to a file keep the depth: OpenCV draws text on 8-bit images only."""
    lr = np.full((24, 32, 3), 20000, np.uint16)
    hr = np.full((96, 128, 3), 30000, np.uint16)
    img = overlay.split_view(lr, hr, "model")
    overlay.draw_stats(img, overlay.stats_lines(25.0, 40.0, 0, 0, "model"))
    assert img.dtype == np.uint16 and img.max() > 60000  # white text at the top of 16 bits
    assert (img[:8, :8] < 30000 // 2).all()  # the stats box darkened
