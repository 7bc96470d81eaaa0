"""Upscale a video / frame folder / image to a file, streaming frame by frame (bounded memory)."""

from __future__ import annotations

import time
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

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def upscale_file(runner: Runner, src: FrameSource | Path, dst_path: Path, crf: int = 18,
                 on_frame: ProgressFn | None = None) -> UpscaleResult:
    """Upscale every frame of ``src``, write ``dst_path`` atomically (audio copied for video sources).

    ``on_frame`` is called after each written frame (the CLI draws its progress bar from it).
    """
    src = src if isinstance(src, FrameSource) else FrameSource(src)
    info = src.info
    audio = info.path if info.kind == "video" and info.has_audio else None
    sink = FrameSink(dst_path, fps=info.fps, crf=crf, audio_from=audio, names=info.names)
    s = runner.spec.scale
    t0 = time.perf_counter()
    with sink, runner:
        up = FrameUpscaler(runner)
        for out in up.run(src):
            sink.write(out)
            if on_frame is not None:
                on_frame(sink.count, info.frame_count, time.perf_counter() - t0)
    return UpscaleResult(sink.count, time.perf_counter() - t0, (info.width, info.height),
                         (info.width * s, info.height * s), info.fps, audio is not None and sink.is_video)
