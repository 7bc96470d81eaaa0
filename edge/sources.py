"""Frame sources for the live pipeline: files and folders, cameras and streams, a generated test pattern.

Every source yields HxWx3 RGB frames from :meth:`Source.frames` and says
whether it is *live* (frames arrive on their own clock, so a slow upscaler must
drop some) or not (a file: the pipeline may block on it and lose nothing).
Frames are uint8, except from a file deeper than 8 bits (10-bit HEVC, ProRes,
FFV1...): those come as uint16 (rgb48, full scale) and stay deep through the
upscaler, as in `edgevsr upscale` (:attr:`Source.bits` says the source's depth).
Files and folders are read by :class:`edgevsr.io.frames.FrameSource`: there is
one video reader in edgevsr.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from edgevsr.edge import gst
from edgevsr.edge.uri import MediaURI
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from edgevsr.io.limits import check_input_size


class Source:
    """Base: ``frames()`` yields RGB frames until the end of the input (live sources may never end)."""

    live = False
    fps = 25.0
    name = "source"
    last_time: float | None = None  # presentation time (s) of the frame last yielded, where the input has one
    bits = 8  # bits per sample of the input (a deep file: 10, 12...)

    def __init__(self) -> None:
        self.stop_event = threading.Event()  # set by the pipeline to end waits (pacing, reconnect backoff)
        self.events: list[str] = []  # reconnects etc., for the user (bounded by the retry count)
        self.on_report: Callable[[str], None] | None = None  # live reporting (called from the capture thread)

    def frames(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def report(self, message: str) -> None:
        if len(self.events) < 1000:
            self.events.append(message)
        if self.on_report is not None:
            self.on_report(message)


def adjust(frame: np.ndarray, width: int | None, height: int | None, flip: str) -> np.ndarray:
    """Pre-processing at capture: flip, and resize when an input size was asked for and differs."""
    if flip == "horizontal":
        frame = cv2.flip(frame, 1)
    elif flip == "vertical":
        frame = cv2.flip(frame, 0)
    elif flip == "rotate-180":
        frame = cv2.flip(frame, -1)
    if width and height and frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return frame


class _Pacer:
    """Releases frames at ``fps`` on the wall clock (a camera's behaviour); never sleeps past a stop."""

    def __init__(self, fps: float, stop: threading.Event):
        self.period, self.stop = 1.0 / fps, stop
        self.t0: float | None = None

    def wait(self, index: int) -> None:
        now = time.perf_counter()
        if self.t0 is None:
            self.t0 = now
        delay = self.t0 + index * self.period - now
        if delay > 0:
            self.stop.wait(delay)


class TestPatternSource(Source):
    """A generated moving pattern (``test://``): pipelines can be tried, tested and timed with no camera.

    ``frame(i)`` is a pure function of the index, so tests know what every frame
    should be. The pattern pans smooth colour fields, stripes and text (detail an
    upscaler can show); ``cuts=N`` starts a visibly different scene every N
    frames, to exercise scene-cut handling.
    """

    __test__ = False  # not a pytest class
    name = "test pattern"

    def __init__(self, width: int = 320, height: int = 180, fps: float = 30.0, frames: int | None = None,
                 cuts: int = 0, realtime: bool = True, flip: str = "none"):
        super().__init__()
        if width < 8 or height < 8:
            raise EdgeVSRError(f"test://: frames must be at least 8x8, got {width}x{height}")
        self.width, self.height, self.fps = width, height, fps
        self.count, self.cuts, self.live, self.flip = frames, cuts, realtime, flip
        self._scenes: dict[int, np.ndarray] = {}
        self.margin = max(16, min(width, height) // 4)

    def _scene(self, k: int) -> np.ndarray:
        if k not in self._scenes:
            if len(self._scenes) > 4:
                self._scenes.clear()
            m = self.margin
            h, w = self.height + 2 * m, self.width + 2 * m
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            phase = 1.7 * k
            base = np.stack([np.sin(xx / (w / 5.0) + phase), np.sin(yy / (h / 3.0) - phase),
                             np.sin((xx + yy) / (w / 7.0) + 2 * phase)], axis=-1)
            level = 0.3 if k % 2 == 0 else 0.7  # alternate dark / bright scenes
            img = (level + 0.25 * base) * 255
            stripes = (np.sin(xx / (1.5 + (k % 3))) > 0)[..., None] * 40.0
            band = (yy // max(4, h // 12)) % 3 == 1
            img = np.where(band[..., None], img + stripes - 20, img)
            img = np.clip(img, 0, 255).astype(np.uint8)
            scale = max(0.3, self.height / 240)
            for j, y in enumerate(range(m, h, max(12, int(40 * scale)))):
                cv2.putText(img, f"edgevsr {k}", (m // 2 + (j * 17) % m, y), cv2.FONT_HERSHEY_SIMPLEX, scale,
                            (255, 255, 255) if k % 2 == 0 else (0, 0, 0), 1, cv2.LINE_AA)
            self._scenes[k] = img
        return self._scenes[k]

    def frame(self, i: int) -> np.ndarray:
        k = i // self.cuts if self.cuts else 0
        base = self._scene(k)
        m = self.margin
        t = 2 * np.pi * i / 90.0
        dx, dy = int(round(m * (1 + 0.9 * np.cos(t)))), int(round(m * (1 + 0.9 * np.sin(2 * t))))
        img = base[dy: dy + self.height, dx: dx + self.width].copy()
        s = max(2, min(self.width, self.height) // 8)  # a square crossing the frame
        x = int((i * 3) % max(1, self.width - s))
        cv2.rectangle(img, (x, self.height // 2 - s // 2), (x + s, self.height // 2 + s // 2), (230, 40, 40), -1)
        return adjust(img, None, None, self.flip)

    def frames(self) -> Iterator[np.ndarray]:
        pacer = _Pacer(self.fps, self.stop_event) if self.live else None
        i = 0
        while self.count is None or i < self.count:
            if self.stop_event.is_set():
                return
            if pacer:
                pacer.wait(i)
            yield self.frame(i)
            i += 1


class FileSource(Source):
    """A video file or frame folder (``file://`` or a bare path), optionally looped and played in real time."""

    def __init__(self, path: str | Path, loop: int = 0, realtime: bool = False, width: int | None = None,
                 height: int | None = None, flip: str = "none", fps: float | None = None):
        super().__init__()
        self.reader = FrameSource(path, fps=fps or 25.0, deep=True)  # >8-bit video: uint16 frames, full depth
        info = self.reader.info
        self.info, self.bits = info, info.bits
        self.name = str(path)
        self.fps = fps or info.fps
        self.loop, self.live = loop, realtime
        self.size, self.flip = (width, height), flip

    @property
    def deep(self) -> bool:
        """Whether frames come out as uint16 (a >8-bit video decoded at its depth)."""
        return self.reader.format != "rgb24"

    def decode_8bit(self) -> None:
        """Decode as 8-bit RGB (for runners that take 8-bit frames only; the caller says so)."""
        self.reader.format = "rgb24"

    def frames(self) -> Iterator[np.ndarray]:
        pacer = _Pacer(self.fps, self.stop_event) if self.live else None
        i, rounds, offset = 0, 0, 0.0
        while True:
            for frame in self.reader:
                if self.stop_event.is_set():
                    return
                if pacer:
                    pacer.wait(i)
                t = self.reader.last_time
                self.last_time = None if t is None else offset + t  # a loop goes on after the last frame
                yield adjust(frame, *self.size, self.flip)
                i += 1
            offset = (self.last_time or 0.0) + 1.0 / self.fps
            rounds += 1
            if self.loop != -1 and rounds > self.loop:
                return


class IterableSource(Source):
    """Frames from Python (a list, a generator, a decoder of your own) for the ``Pipeline`` API."""

    def __init__(self, frames: Iterable[np.ndarray], fps: float = 25.0, live: bool = False, name: str = "python"):
        super().__init__()
        self._frames, self.fps, self.live, self.name = frames, fps, live, name

    def frames(self) -> Iterator[np.ndarray]:
        for frame in self._frames:
            if self.stop_event.is_set():
                return
            yield frame


class CaptureSource(Source):
    """A camera or network stream read through ``cv2.VideoCapture``, reconnected with backoff when it drops.

    ``open_capture`` returns an opened-or-not ``cv2.VideoCapture``; a failed
    first open is an error (device missing or busy), a failure later is
    reported and retried ``retries`` times with doubling delays.
    """

    live = True

    def __init__(self, name: str, open_capture: Callable[[], cv2.VideoCapture], fps: float = 30.0,
                 retries: int = 5, backoff: float = 0.5, width: int | None = None, height: int | None = None,
                 flip: str = "none", open_hint: str = "cannot open it (missing, busy, or not a camera)"):
        super().__init__()
        self.name, self._open, self.fps = name, open_capture, fps
        self.retries, self.backoff = retries, backoff
        self.size, self.flip = (width, height), flip
        self.open_hint = open_hint
        self.reconnects = 0

    def frames(self) -> Iterator[np.ndarray]:
        cap = self._open()
        if not cap.isOpened():
            raise EdgeVSRError(f"{self.name}: {self.open_hint}")
        failures = 0
        try:
            while not self.stop_event.is_set():
                ok, bgr = cap.read()
                if ok and bgr is not None:
                    if failures:
                        self.report(f"{self.name}: reconnected after {failures} attempt(s)")
                        failures = 0
                    yield adjust(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), *self.size, self.flip)
                    continue
                cap.release()
                failures += 1
                if failures > self.retries:
                    raise EdgeVSRError(f"{self.name}: no frames (disconnected?); gave up after "
                                       f"{self.retries} reconnect attempts")
                delay = min(8.0, self.backoff * 2 ** (failures - 1))
                self.report(f"{self.name}: no frame (disconnected?); reconnecting in {delay:.1f} s "
                            f"(attempt {failures}/{self.retries})")
                self.reconnects += 1
                if self.stop_event.wait(delay):
                    return
                cap = self._open()
        finally:
            cap.release()


def quiet_capture_logs() -> None:
    """OpenCV and the FFmpeg inside it print their own log lines (``[tcp @ 0x..] Connection refused``,
    ``[ WARN:0] global cap.cpp``) before our one-line error; ours names the stream and the cause."""
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when the FFmpeg backend opens
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # an OpenCV build without the logging module
        pass


def make_source(uri: MediaURI) -> Source:
    """The source a URI names; files and devices are checked here, before any model is loaded."""
    o = uri.options
    w, h, flip = o.get("width"), o.get("height"), o.get("flip", "none")
    if (w is None) != (h is None):
        raise EdgeVSRError(f"{uri}: give both width and height, or neither")
    if w is not None:
        check_input_size(w, h, str(uri))
    if uri.scheme in ("rtsp", "v4l2", "csi"):
        quiet_capture_logs()
    if uri.scheme == "test":
        return TestPatternSource(w or 320, h or 180, o.get("fps", 30.0), o.get("frames"), o.get("cuts", 0),
                                 o.get("realtime", True), flip)
    if uri.scheme == "file":
        return FileSource(uri.path, o.get("loop", 0), o.get("realtime", False), w, h, flip, o.get("fps"))
    if uri.scheme == "v4l2":  # no rate asked for: the camera's own mode (not a forced 30/1)
        return _v4l2_source(uri, w, h, o.get("fps"), flip)
    fps = o.get("fps", 30.0)
    if uri.scheme == "csi":
        gst.require_gstreamer(str(uri))
        pipe = gst.csi_capture(int(uri.location), w or 1280, h or 720, fps, flip)
        return CaptureSource(str(uri), lambda: cv2.VideoCapture(pipe, cv2.CAP_GSTREAMER), fps,
                             open_hint="cannot open the CSI camera (is it connected and nvargus-daemon running?)")
    if uri.scheme == "rtsp":
        url = uri.location
        if gst.opencv_has_gstreamer():
            pipe = gst.rtsp_capture(url, o.get("latency", 200), jetson=gst.is_jetson(), flip=flip)
            return CaptureSource(str(uri), lambda: cv2.VideoCapture(pipe, cv2.CAP_GSTREAMER), fps, width=w,
                                 height=h, open_hint="cannot open the stream (host down or wrong path?)")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
        return CaptureSource(str(uri), lambda: cv2.VideoCapture(url, cv2.CAP_FFMPEG, params), fps, width=w,
                             height=h, flip=flip, open_hint="cannot open the stream (host down or wrong path?)")
    raise EdgeVSRError(f"{uri}: not a source")


def video_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*"))


def _v4l2_source(uri: MediaURI, w: int | None, h: int | None, fps: float | None, flip: str) -> CaptureSource:
    device = uri.location
    if not Path(device).exists():
        found = ", ".join(video_devices()) or "none"
        raise EdgeVSRError(f"{uri}: no such camera device (video devices here: {found})")
    if gst.opencv_has_gstreamer():
        pipe = gst.v4l2_capture(device, w, h, fps, flip, uri.get("format", "auto"))
        return CaptureSource(str(uri), lambda: cv2.VideoCapture(pipe, cv2.CAP_GSTREAMER), fps or 30.0)

    def open_v4l2() -> cv2.VideoCapture:
        cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if w and h:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        if uri.get("format") == "mjpeg":
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a backlog: latency
        return cap

    return CaptureSource(str(uri), open_v4l2, fps or 30.0, width=w, height=h, flip=flip,
                         open_hint="cannot open the camera (busy in another program, or not a capture device)")
