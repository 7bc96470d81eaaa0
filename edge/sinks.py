"""Where upscaled frames go: a window, a file, an RTP/RTSP stream, or nowhere (benchmarks).

The life cycle is ``check()`` (before the model loads: fail fast on a bad
path, no display, no GStreamer), ``open(width, height, fps)`` at the first
frame, ``write(frame)``, then ``close()`` (finalise) or ``abort()`` (discard).
A file sink *is* :class:`edgevsr.io.writers.FrameSink` (the media layer's writer, timestamps
kept), so an aborted or failed run never leaves a half-written output under the final name.

Depth: :attr:`Sink.bits` says how deep a sink keeps samples. Windows, GStreamer outputs and
``null://`` take 8 bits; a file keeps 10 (video) or 16 (PNG). The pipeline hands an 8-bit sink
uint8 frames, rounded from a deep source's uint16 ones (:func:`edgevsr.pixels.as_uint8`).

Windows: OpenCV highgui when this cv2 build has a GUI (JetPack's OpenCV, the
non-headless wheels), else Tk from the standard library: the project's pip
dependency is opencv-python-headless (no highgui), and installing the GUI wheel
beside it breaks both, so Tk is the window that always works on a desktop.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from edgevsr.edge import gst
from edgevsr.edge.uri import MediaURI
from edgevsr.errors import EdgeVSRError
from edgevsr.io.writers import FrameSink

WINDOW_TITLE = "edgevsr"


class Sink:
    name = "sink"
    resizable = True  # can frames change size mid-stream?
    is_display = False
    bits = 8  # deepest samples it keeps: the pipeline rounds deeper (uint16) frames to uint8 for an 8-bit sink

    def check(self) -> None:
        """Fail early (before the model loads) if this sink cannot work here."""

    def open(self, width: int, height: int, fps: float) -> None:
        pass

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        """``time``: the frame's presentation time in seconds (files keep it; live outputs ignore it)."""
        raise NotImplementedError

    def poll(self) -> list[str]:
        """Keys pressed since the last call ('q', 's', 'p', ...); 'close' when the user closed the window."""
        return []

    def close(self) -> None:
        pass

    def abort(self) -> None:
        self.close()


class NullSink(Sink):
    """Discards frames (benchmarks, headless runs); counts them."""

    name = "null"

    def __init__(self, name: str = "null"):
        self.name, self.count = name, 0

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        self.count += 1


def FileSink(path: str | Path, codec: str | None = None, crf: int = 18, fps: float | None = None,  # noqa: N802
             audio_from: Path | None = None, names: list[str] | None = None, overwrite: bool = False,
             inputs: tuple = (), like=None) -> FrameSink:
    """A video file or PNG folder: the media layer's :class:`~edgevsr.io.writers.FrameSink` itself (timestamps,
    audio, rotation and the atomic rules included); ``fps`` None: the source's rate."""
    return FrameSink(path, fps=fps, codec=codec, crf=crf, audio_from=audio_from, names=names, overwrite=overwrite,
                     inputs=inputs, like=like)


class TerminalKeys:
    """Keys typed in the controlling terminal, read without blocking (cbreak mode, restored on close).

    A GStreamer window opened through OpenCV's VideoWriter reports no key presses, so a
    GStreamer display takes 'q' / 'p' / 's' from the terminal that started `edgevsr run`.
    """

    def __init__(self, fd: int | None = None):
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.saved = None
        try:
            import termios
            import tty

            if os.isatty(self.fd):
                self.saved = termios.tcgetattr(self.fd)
                tty.setcbreak(self.fd)
        except (ImportError, OSError, ValueError):  # Windows, or no terminal (service, pipe)
            self.saved = None

    @property
    def active(self) -> bool:
        return self.saved is not None

    def poll(self) -> list[str]:
        if not self.active:
            return []
        import select

        keys = []
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 64)
            if not data:
                break
            keys.extend(data.decode("utf-8", "ignore"))
        return keys

    def close(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            self.saved = None


class GstSink(Sink):
    """Frames pushed into a GStreamer pipeline through OpenCV (RTP/RTSP out, Jetson EGL/overlay display)."""

    resizable = False

    def __init__(self, name: str, make_pipeline, is_display: bool = False):
        self.name, self.make_pipeline, self.is_display = name, make_pipeline, is_display
        self.writer = None
        self.keys: TerminalKeys | None = None

    def check(self) -> None:
        self.make_pipeline(30.0)  # bad options (codec) fail here, even where GStreamer is missing
        gst.require_gstreamer(self.name)

    def open(self, width: int, height: int, fps: float) -> None:
        pipe = self.make_pipeline(fps)
        self.writer = cv2.VideoWriter(pipe, cv2.CAP_GSTREAMER, 0, fps, (width, height), True)
        if not self.writer.isOpened():
            raise EdgeVSRError(f"{self.name}: GStreamer could not start the output pipeline: {pipe}")
        if self.is_display:
            self.keys = TerminalKeys()

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def poll(self) -> list[str]:
        return self.keys.poll() if self.keys is not None else []

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()
            self.keys = None
        if self.writer is not None:
            self.writer.release()  # sends EOS: the stream/muxer is finalised


@functools.cache
def opencv_has_gui() -> bool:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("NONE", "NO", "")
    return False


def _need_x_display(name: str) -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise EdgeVSRError(f"{name}: no $DISPLAY to open a window on; use --headless, null:// or a file sink")


class HighguiDisplay(Sink):
    """An OpenCV highgui window (needs a cv2 build with a GUI backend)."""

    is_display = True

    def __init__(self, name: str = "display://0"):
        self.name, self.opened = name, False

    def check(self) -> None:
        if not opencv_has_gui():
            raise EdgeVSRError(f"{self.name}: this cv2 build has no GUI (opencv-python-headless); use backend=tk")
        _need_x_display(self.name)

    def open(self, width: int, height: int, fps: float) -> None:
        cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_AUTOSIZE)
        self.opened = True

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        cv2.imshow(WINDOW_TITLE, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def poll(self) -> list[str]:
        if not self.opened:
            return []
        key = cv2.waitKey(1) & 0xFF
        keys = [chr(key)] if key != 0xFF else []
        if cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) < 1:
            keys.append("close")
        return keys

    def close(self) -> None:
        if self.opened:
            cv2.destroyWindow(WINDOW_TITLE)
            self.opened = False


class TkDisplay(Sink):
    """A Tk window showing each frame as a PPM-fed PhotoImage (fast enough for 720p at hundreds of fps).

    Tk lives in the thread that created it: the pipeline calls every method from
    its main thread.
    """

    is_display = True

    def __init__(self, name: str = "display://0"):
        self.name = name
        self.root = self.photo = None
        self.keys: list[str] = []
        self.size: tuple[int, int] | None = None

    def check(self) -> None:
        try:
            import tkinter  # noqa: F401
        except ImportError:
            raise EdgeVSRError(f"{self.name}: the window needs Python's tkinter "
                               "(Debian/Ubuntu/JetPack: apt install python3-tk)") from None
        _need_x_display(self.name)

    def open(self, width: int, height: int, fps: float) -> None:
        import tkinter as tk

        try:
            self.root = tk.Tk(className=WINDOW_TITLE)
        except tk.TclError as exc:
            raise EdgeVSRError(f"{self.name}: cannot open a window ({exc})") from None
        self.root.title(WINDOW_TITLE)
        self.root.protocol("WM_DELETE_WINDOW", lambda: self.keys.append("close"))
        self.root.bind("<Key>", lambda e: self.keys.append(e.char or e.keysym))
        self.photo = tk.PhotoImage(width=width, height=height)
        self.label = tk.Label(self.root, image=self.photo, bd=0, highlightthickness=0)
        self.label.pack()
        self.root.update()
        self.root.focus_force()  # keys go to the new window without a click first
        self.size = (width, height)

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        h, w = frame.shape[:2]
        ppm = b"P6 %d %d 255\n" % (w, h) + np.ascontiguousarray(frame).tobytes()
        import tkinter as tk

        try:
            self.photo.configure(data=ppm, format="PPM", width=w, height=h)
            self.root.update()
        except tk.TclError:  # the window was destroyed under us: the next poll() reports it closed
            self.keys.append("close")

    def poll(self) -> list[str]:
        if self.root is None:
            return []
        import tkinter as tk

        try:
            self.root.update()
        except tk.TclError:  # the window is gone
            self.keys.append("close")
        keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        if self.root is not None:
            import contextlib
            import tkinter as tk

            with contextlib.suppress(tk.TclError):
                self.root.destroy()
            self.root = None


DISPLAY_BACKENDS = ("auto", "highgui", "tk", "gst")


def make_display(uri: MediaURI) -> Sink:
    backend = uri.get("backend", "auto")
    if backend not in DISPLAY_BACKENDS:
        raise EdgeVSRError(f"{uri}: display backend must be one of {', '.join(DISPLAY_BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = "highgui" if opencv_has_gui() else "tk"
    if backend == "highgui":
        return HighguiDisplay(str(uri))
    if backend == "tk":
        return TkDisplay(str(uri))
    jetson = gst.is_jetson()
    sink = uri.get("sink")
    return GstSink(str(uri), lambda fps: gst.display_output(jetson, sink), is_display=True)


def make_sink(uri: MediaURI, audio_from: Path | None = None, names: list[str] | None = None,
              overwrite: bool = False, inputs: tuple = (), like=None) -> Sink:
    """The sink a URI names (not yet checked: call ``check()``)."""
    o = uri.options
    if uri.scheme == "null":
        return NullSink()
    if uri.scheme == "display":
        if o.get("headless"):
            return NullSink(f"{uri} (headless)")
        return make_display(uri)
    if uri.scheme == "file":
        return FileSink(uri.path, o.get("codec"), o.get("crf", 18), o.get("fps"), audio_from, names, overwrite,
                        inputs, like)
    codec, bitrate, jetson = o.get("codec", "h264"), o.get("bitrate", 4_000_000), gst.is_jetson()
    if uri.scheme == "rtp":
        host, port = uri.location.rsplit(":", 1)
        return GstSink(f"{uri} ({gst.encoder_label(codec, jetson)})",
                       lambda fps: gst.rtp_output(host, int(port), codec, bitrate, fps, jetson))
    if uri.scheme == "rtsp":
        return GstSink(f"{uri} ({gst.encoder_label(codec, jetson)})",
                       lambda fps: gst.rtsp_output(uri.location, codec, bitrate, fps, jetson))
    raise EdgeVSRError(f"{uri}: not a sink")
