"""The display sink in a real X window (Xvfb), checked by a screenshot taken by another X client (xwd).

Needs the Debian packages ``xvfb`` and ``x11-apps`` (xwd); skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time

import numpy as np
import pytest
import torch

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.edge.pipeline import Pipeline
from edgevsr.edge.sinks import TkDisplay, make_display, opencv_has_gui
from edgevsr.edge.sources import TestPatternSource
from edgevsr.edge.uri import parse_uri
from edgevsr.errors import EdgeVSRError
from edgevsr.stream import FrameUpscaler

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xwd")),
                                reason="Xvfb/xwd absent (apt-get install xvfb x11-apps)")


@pytest.fixture(scope="module")
def xdisplay():
    """A private Xvfb server; DISPLAY points at it for the tests of this module."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    display = f":{number}"
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    yield display
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    proc.terminate()
    proc.wait(timeout=10)


def screenshot(display: str) -> np.ndarray:
    """The whole X screen as HxWx3 RGB, from xwd's ZPixmap dump (32 bits per pixel, TrueColor)."""
    raw = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True).stdout
    (header_size, _, fmt, _, width, height, _, byte_order, _, _, _, bpp, bytes_per_line, _,
     rmask, gmask, bmask, _, _, ncolors) = struct.unpack(">20I", raw[:80])
    assert fmt == 2 and bpp == 32, (fmt, bpp)
    start = header_size + 12 * ncolors
    px = np.frombuffer(raw[start: start + bytes_per_line * height], dtype="<u4" if byte_order == 0 else ">u4")
    px = px.reshape(height, bytes_per_line // 4)[:, :width]

    def channel(mask: int) -> np.ndarray:
        shift = (mask & -mask).bit_length() - 1
        return ((px & mask) >> shift).astype(np.uint8)

    return np.stack([channel(rmask), channel(gmask), channel(bmask)], axis=-1)


def shown_region(display: str, sink: TkDisplay, expected: np.ndarray, tries: int = 40) -> np.ndarray:
    """The window's pixels; X clients are not synchronised, so wait until the frame is drawn (or give up)."""
    h, w = expected.shape[:2]
    for _ in range(tries):
        sink.poll()
        x, y = sink.root.winfo_rootx(), sink.root.winfo_rooty()
        got = screenshot(display)[y: y + h, x: x + w]
        if got.shape == expected.shape and np.array_equal(got, expected):
            break
        time.sleep(0.05)
    return got


@pytest.fixture
def upscaler():
    torch.set_num_threads(1)
    return FrameUpscaler(make_runner(RunnerConfig(model="bicubic"))[0])


def test_window_shows_the_upscaled_frame(xdisplay, upscaler):
    src = TestPatternSource(48, 32, frames=6, realtime=False)
    sink = TkDisplay()
    checked = {}

    def look(hr, meta):
        if meta.index == 3:
            ref = FrameUpscaler(upscaler.runner)
            expected = ref.push(src.frame(3))[0]  # independent of what the pipeline passed on
            checked["raw"] = shown_region(xdisplay, sink, expected)
            checked["expected"] = expected

    stats = Pipeline(src, upscaler, sink, overlay=False, on_frame=look).run()
    assert stats.shown == 6
    np.testing.assert_array_equal(checked["raw"], checked["expected"])


def test_overlay_drawn_over_the_top_left_only(xdisplay, upscaler):
    src = TestPatternSource(96, 64, frames=3, realtime=False)
    sink = TkDisplay()
    shots = {}

    def look(hr, meta):
        if meta.index == 2:
            x, y = sink.root.winfo_rootx(), sink.root.winfo_rooty()
            for _ in range(20):
                sink.poll()
                time.sleep(0.05)
            shots["screen"] = screenshot(xdisplay)[y: y + hr.shape[0], x: x + hr.shape[1]]
            shots["hr"] = hr

    Pipeline(src, upscaler, sink, on_frame=look).run()  # display sinks get the overlay by default
    screen, hr = shots["screen"], shots["hr"]
    assert not np.array_equal(screen[:40, :120], hr[:40, :120])  # stats box
    np.testing.assert_array_equal(screen[-40:, -60:], hr[-40:, -60:])  # picture untouched elsewhere


def test_keys_and_closing_the_window(xdisplay, upscaler):
    src = TestPatternSource(48, 32, fps=50, frames=200, realtime=True)  # a live source (finite: a bug fails)
    sink = TkDisplay()
    shown = []

    def press(hr, meta):  # counted by frames shown: a live source may drop any given index
        shown.append(meta.index)
        if len(shown) == 5:
            sink.root.event_generate("<KeyPress>", keysym="s", when="tail")
        if len(shown) == 10:
            sink.root.event_generate("<KeyPress>", keysym="q", when="tail")

    pipe = Pipeline(src, upscaler, sink, on_frame=press)
    stats = pipe.run()
    assert stats.stop_reason == "quit key" and pipe.split and 10 <= stats.shown < 40

    sink2, closed = TkDisplay(), []

    def close_window(hr, meta):  # what the window manager does when the user clicks X (no WM under Xvfb)
        if not closed:
            closed.append(meta.index)
            sink2.root.destroy()

    pipe2 = Pipeline(TestPatternSource(48, 32, fps=50, frames=200, realtime=True), upscaler, sink2,
                     on_frame=close_window)
    stats2 = pipe2.run()
    assert stats2.stop_reason == "window closed" and stats2.shown < 10


def test_no_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(EdgeVSRError, match=r"display://0: no \$DISPLAY"):
        make_display(parse_uri("display://0", "sink")).check()


@pytest.mark.skipif(not opencv_has_gui(), reason="this cv2 build has no highgui (opencv-python-headless)")
def test_highgui_window(xdisplay, upscaler):
    sink = make_display(parse_uri("display://0?backend=highgui", "sink"))
    stats = Pipeline(TestPatternSource(48, 32, frames=5, realtime=False), upscaler, sink).run()
    assert stats.shown == 5
