"""The threaded live pipeline: capture -> pre-process -> upscale -> post-process -> sink.

Three threads joined by bounded queues, so latency stays bounded:
- *capture* reads the source, stamps each frame with its capture time
  (flip / resize happen in the source as pre-processing);
- *upscale* runs :class:`edgevsr.stream.FrameUpscaler`, which resets its recurrent
  state when frames were dropped, the size changed or the scene cut (the reasons
  live there alone; the pipeline counts them);
- the *calling* thread draws the split view and stats (post-processing), writes
  to the sink and handles keys: GUI toolkits want the main thread.

When the upscaler falls behind, a live source drops the oldest queued frame
(the viewer sees the newest) and a file source blocks (nothing is lost).

A deep (>8-bit) file source stays deep from the decoder through the model to a
file sink (10-bit video, 16-bit PNG), as in `edgevsr upscale`; a sink that keeps
8 bits (window, GStreamer output, null) gets frames rounded to uint8 here, in one
place, and the run's summary says which happened (:attr:`PipelineStats.depth`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgevsr.edge import overlay
from edgevsr.edge.sinks import Sink, make_sink
from edgevsr.edge.sources import FileSource, Source, make_source
from edgevsr.edge.uri import parse_uri
from edgevsr.errors import EdgeVSRError
from edgevsr.pixels import as_uint8
from edgevsr.scene import is_scene_cut, thumbnail  # noqa: F401  (re-exported: the one detector)
from edgevsr.stream import FrameUpscaler

POLICIES = ("auto", "drop", "block")
_END = object()


@dataclass
class FrameMeta:
    """One frame's journey; ``lr`` is kept until display for the split view."""

    index: int
    t_capture: float
    lr: np.ndarray
    t_upscaled: float = 0.0
    t_shown: float = 0.0
    reset: str | None = None  # why the recurrent state was reset before this frame
    time: float | None = None  # presentation time in the source (files), kept by file sinks


@dataclass
class PipelineStats:
    captured: int = 0
    upscaled: int = 0
    shown: int = 0
    dropped: int = 0
    resets: Counter = field(default_factory=Counter)  # reason -> count
    reset_log: deque = field(default_factory=lambda: deque(maxlen=256))  # (frame index, reason)
    latencies: deque = field(default_factory=lambda: deque(maxlen=1000))  # capture -> shown, seconds
    shown_times: deque = field(default_factory=lambda: deque(maxlen=64))
    t_start: float = 0.0
    t_end: float = 0.0
    stop_reason: str = "end of input"
    events: list[str] = field(default_factory=list)
    in_size: tuple[int, int] | None = None
    out_size: tuple[int, int] | None = None
    depth: str | None = None  # what became of a >8-bit source's depth ("10-bit source shown as 8-bit ...")

    @property
    def seconds(self) -> float:
        return (self.t_end or time.perf_counter()) - self.t_start

    @property
    def fps(self) -> float:
        """Mean output rate over the whole run."""
        return self.shown / self.seconds if self.seconds > 0 else 0.0

    def fps_now(self) -> float:
        t = self.shown_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def latency_ms(self, q: float = 50) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else 0.0

    def summary(self) -> str:
        resets = ", ".join(f"{n} {r}" for r, n in sorted(self.resets.items())) or "none"
        return (f"{self.shown} frames shown of {self.captured} captured ({self.dropped} dropped) in "
                f"{self.seconds:.1f} s = {self.fps:.2f} fps; latency p50 {self.latency_ms(50):.0f} ms, "
                f"p95 {self.latency_ms(95):.0f} ms; state resets: {resets}; "
                + (f"{self.depth}; " if self.depth else "") + f"stopped: {self.stop_reason}")


def depth_story(source: Source, sink: Sink, lr: np.ndarray, hr: np.ndarray) -> str | None:
    """One phrase on what became of a deep source's depth at ``sink`` (None for 8-bit input)."""
    bits = getattr(source, "bits", 8)
    if bits <= 8 and lr.dtype == np.uint16:
        bits = 16  # uint16 frames from Python (IterableSource): depth unknown, 16 at most
    if bits <= 8:
        return None
    if hr.dtype != np.uint16:
        return f"{bits}-bit source decoded as 8-bit"  # a runner that takes 8-bit frames only (said at the start)
    keeps = getattr(sink, "bits", 8)
    if keeps > 8:
        if getattr(sink, "is_video", False):
            return f"{bits}-bit source written as {min(bits, keeps)}-bit video"
        return f"{bits}-bit source written as {keeps}-bit images"
    if sink.is_display:
        return f"{bits}-bit source shown as 8-bit on the display"
    return f"{bits}-bit source sent as 8-bit to {sink.name}"


def check_options(policy: str, queue_size: int, scene_cut: float = 0.1, stall_timeout: float = 10.0) -> None:
    import edgevsr.checks as checks

    checks.scene_cut(scene_cut)
    checks.positive(stall_timeout, "--stall-timeout")
    if policy not in POLICIES:
        raise EdgeVSRError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if queue_size < 1:
        raise EdgeVSRError(f"queue size must be >= 1, got {queue_size}")


class Pipeline:
    """``Pipeline(source, upscaler, sink).run()``: sources/sinks are objects or URI strings.

    ``policy``: "drop" (drop the oldest queued frame when full), "block", or
    "auto" (drop for live sources, block for files). ``scene_cut``: the
    thumbnail-difference threshold (0 disables). ``stall_timeout``: seconds
    a source may hang in one read before the run fails. ``on_frame(hr, meta)``
    is called after each frame reached the sink.
    """

    def __init__(self, source: Source | str, upscaler: FrameUpscaler, sink: Sink | str, *, policy: str = "auto",
                 queue_size: int = 2, scene_cut: float = 0.1, stall_timeout: float = 10.0,
                 max_frames: int | None = None, overlay: bool | None = None, split: bool = False,
                 label: str | None = None, on_frame: Callable[[np.ndarray, FrameMeta], None] | None = None):
        check_options(policy, queue_size, scene_cut, stall_timeout)
        self.source = make_source(parse_uri(source, "source")) if isinstance(source, str) else source
        if isinstance(sink, str):
            sink = make_sink(parse_uri(sink, "sink"))
        self.upscaler, self.sink = upscaler, sink
        self.policy = policy if policy != "auto" else ("drop" if self.source.live else "block")
        self.in_q: queue.Queue = queue.Queue(queue_size)
        self.out_q: queue.Queue = queue.Queue(queue_size)
        self.scene_cut, self.stall_timeout, self.max_frames = scene_cut, stall_timeout, max_frames
        self.overlay = sink.is_display if overlay is None else overlay
        self.split, self.paused = split, False
        self.label = label or upscaler.runner.spec.name + " " + upscaler.runner.describe()
        self.on_frame = on_frame
        self.stats = PipelineStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._read_since: float | None = None
        self.max_queued = 0  # largest queue depth seen (tests check the bound)

    # queues -------------------------------------------------------------------------------------
    def _put(self, q: queue.Queue, item) -> None:
        if self.policy == "block" or item is _END:
            while not self._stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    break
                except queue.Full:
                    continue
        else:
            while True:
                try:
                    q.put_nowait(item)
                    break
                except queue.Full:
                    try:
                        old = q.get_nowait()
                    except queue.Empty:
                        continue
                    if old is _END:  # never drop the end marker
                        q.put_nowait(old)
                        return
                    with self._lock:
                        self.stats.dropped += 1
        self.max_queued = max(self.max_queued, q.qsize())

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                continue
        return _END

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._stop.set()

    # threads ------------------------------------------------------------------------------------
    def _capture(self) -> None:
        try:
            frames = iter(self.source.frames())
            i = 0
            while not self._stop.is_set() and (self.max_frames is None or i < self.max_frames):
                self._read_since = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                finally:
                    self._read_since = None
                with self._lock:
                    self.stats.captured += 1
                self._put(self.in_q, FrameMeta(i, time.perf_counter(), frame, time=self.source.last_time))
                i += 1
        except BaseException as exc:  # reported by run() in the calling thread
            self._fail(exc)
        finally:
            self._put(self.in_q, _END)

    def _upscale(self) -> None:
        up, pending = self.upscaler, deque()
        up.scene_cut = self.scene_cut
        size = None
        try:
            while True:
                item = self._get(self.in_q)
                if item is _END:
                    break
                h, w = item.lr.shape[:2]
                if size is not None and (h, w) != size and not self.sink.resizable:
                    raise EdgeVSRError(f"{self.source.name}: frame size changed from {size[1]}x{size[0]} to "
                                       f"{w}x{h} at frame {item.index}; {self.sink.name} cannot change size "
                                       "mid-stream (restart, or pick a fixed input size with width/height)")
                size = (h, w)
                pending.append(item)
                outs = up.push(item.lr, item.index)  # the upscaler decides resets (resize, drop, scene cut)
                if up.last_reset:
                    item.reset = up.last_reset
                    with self._lock:
                        self.stats.resets[up.last_reset] += 1
                        self.stats.reset_log.append((item.index, up.last_reset))
                for out in outs:
                    self._emit(pending.popleft(), out)
            if not self._stop.is_set():
                for out in up.flush():
                    self._emit(pending.popleft(), out)
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._put(self.out_q, _END)

    def _emit(self, meta: FrameMeta, hr: np.ndarray) -> None:
        meta.t_upscaled = time.perf_counter()
        with self._lock:
            self.stats.upscaled += 1
        self._put(self.out_q, (meta, hr))

    # calling thread -----------------------------------------------------------------------------
    def _compose(self, meta: FrameMeta, hr: np.ndarray) -> np.ndarray:
        lr = meta.lr
        if hr.dtype != np.uint8 and getattr(self.sink, "bits", 8) <= 8:  # deep picture, 8-bit sink: rounded once
            hr, lr = as_uint8(hr), as_uint8(lr)
        img = overlay.split_view(lr, hr, self.upscaler.spec.name) if self.split else hr
        if self.overlay:
            s = self.stats
            img = img.copy() if img is hr else img
            overlay.draw_stats(img, overlay.stats_lines(s.fps_now(), s.latency_ms(50), s.dropped,
                                                        sum(s.resets.values()), self.label, self.paused,
                                                        self.split))
        return img

    def _keys(self) -> None:
        for key in self.sink.poll():
            if key in ("q", "\x1b"):
                self.stats.stop_reason = "quit key"
                self._stop.set()
            elif key == "close":
                self.stats.stop_reason = "window closed"
                self._stop.set()
            elif key == "s":
                self.split = not self.split
            elif key == "p":
                self.paused = not self.paused

    def _check_stall(self) -> None:
        since = self._read_since
        if since is not None and time.perf_counter() - since > self.stall_timeout:
            self._stop.set()
            raise EdgeVSRError(f"{self.source.name}: stalled: no frame for {self.stall_timeout:g} s")

    def stop(self, reason: str = "stopped") -> None:
        """Ask a running pipeline to finish (from another thread, a callback or a signal handler)."""
        self.stats.stop_reason = reason
        self._stop.set()

    def run(self) -> PipelineStats:
        """Run until the input ends, the user quits, or an error; finalises the sink except on errors."""
        s = self.stats
        s.t_start = time.perf_counter()
        self.sink.check()
        runner = self.upscaler.runner
        runner.activate()
        threads = [threading.Thread(target=self._capture, name="edgevsr-capture", daemon=True),
                   threading.Thread(target=self._upscale, name="edgevsr-upscale", daemon=True)]
        for t in threads:
            t.start()
        opened = False
        try:
            while self._error is None:
                self._keys()
                if self._stop.is_set():
                    break
                if self.paused:
                    time.sleep(0.03)
                    continue
                try:
                    item = self.out_q.get(timeout=0.05)
                except queue.Empty:
                    self._check_stall()
                    continue
                if item is _END:
                    break
                meta, hr = item
                if not opened:
                    s.in_size, s.out_size = meta.lr.shape[1::-1], hr.shape[1::-1]
                    s.depth = depth_story(self.source, self.sink, meta.lr, hr)
                    self.sink.open(hr.shape[1], hr.shape[0], self.source.fps)
                    opened = True
                self.sink.write(self._compose(meta, hr), meta.time)
                meta.t_shown = time.perf_counter()
                s.shown += 1
                s.latencies.append(meta.t_shown - meta.t_capture)
                s.shown_times.append(meta.t_shown)
                if self.on_frame is not None:
                    self.on_frame(hr, meta)
            if self._error is not None:
                raise self._error
        except KeyboardInterrupt:
            s.stop_reason = "interrupted (Ctrl-C)"
        except BaseException:
            self._shutdown(threads)
            self.sink.abort()
            raise
        self._shutdown(threads)
        s.events = list(self.source.events)
        s.t_end = time.perf_counter()
        if s.shown == 0:
            self.sink.abort()
            if s.stop_reason == "end of input":
                raise EdgeVSRError(f"{self.source.name}: no frames came out of the pipeline")
        else:
            self.sink.close()
        return s

    def _shutdown(self, threads: list[threading.Thread]) -> None:
        self._stop.set()
        self.source.stop_event.set()
        for q in (self.in_q, self.out_q):  # unblock producers
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
        for t in threads:
            t.join(timeout=2.0)
        self.upscaler.runner.deactivate()
        self.source.close()


def audio_source(source: Source) -> Path | None:
    """A file source's path when its audio can be copied (a file played once, in full)."""
    if isinstance(source, FileSource) and source.info.kind == "video" and source.info.has_audio \
            and source.loop == 0 and not source.live:
        return source.info.path
    return None
