"""Upscale a video / frame folder / image to a file, streaming frame by frame (bounded memory)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.base import Runner
from edgevsr.io.frames import FrameSource
from edgevsr.io.writers import FrameSink
from edgevsr.stream import FrameUpscaler

# (frames written so far, frames in the source or None when unknown, seconds since the first frame was read)
ProgressFn = Callable[[int, int | None, float], None]


@dataclass
class UpscaleResult:
    frames: int
    seconds: float
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    fps_in: float
    audio_kept: bool
    partial: str | None = None  # what was lost when damaged input was kept with allow_partial

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def upscale_file(runner: Runner, src: FrameSource | Path, dst_path: Path, crf: int = 18,
                 on_frame: ProgressFn | None = None, codec: str | None = None,
                 overwrite: bool = False) -> UpscaleResult:
    """Upscale every frame of ``src``, write ``dst_path`` atomically (audio and timestamps kept for videos).

    ``on_frame`` is called after each written frame (the CLI draws its progress bar from it).
    """
    src = src if isinstance(src, FrameSource) else FrameSource(src)
    info = src.info
    audio = info.path if info.kind == "video" and info.has_audio else None
    sink = FrameSink(dst_path, fps=info.fps, codec=codec, crf=crf, audio_from=audio, names=info.names,
                     overwrite=overwrite, inputs=[info.path])
    s = runner.spec.scale
    times: deque = deque()  # presentation times of frames read but not yet written (models may lag)

    def timed():
        for frame in src:
            times.append(src.last_time)
            yield frame

    t0 = time.perf_counter()
    with sink, runner:
        up = FrameUpscaler(runner)
        for out in up.run(timed()):
            sink.write(out, times.popleft() if times else None)
            if on_frame is not None:
                on_frame(sink.count, info.frame_count, time.perf_counter() - t0)
    return UpscaleResult(sink.count, time.perf_counter() - t0, (info.width, info.height),
                         (info.width * s, info.height * s), info.fps, audio is not None and sink.is_video,
                         src.partial)
