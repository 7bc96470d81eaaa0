"""Upscale a video / frame folder / image to a file, streaming frame by frame (bounded memory)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.base import Runner
from edgevsr.cli.progress import frame_progress
from edgevsr.io.frames import FrameSource
from edgevsr.io.writers import FrameSink
from edgevsr.scene import DEFAULT_THRESHOLD
from edgevsr.stream import FrameUpscaler


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
                 show_progress: bool = True, scene_cut: float = DEFAULT_THRESHOLD) -> UpscaleResult:
    """Upscale every frame of ``src``, write ``dst_path`` atomically (audio copied for video sources).

    The recurrent state resets at scene cuts (``scene_cut`` threshold, 0: never), as in the live
    runtime and `edgevsr batch`, so all three give the same pictures.
    """
    src = src if isinstance(src, FrameSource) else FrameSource(src)
    info = src.info
    audio = info.path if info.kind == "video" and info.has_audio else None
    sink = FrameSink(dst_path, fps=info.fps, crf=crf, audio_from=audio, names=info.names)
    s = runner.spec.scale
    t0 = time.perf_counter()
    with sink, runner, frame_progress(transient=not show_progress) as progress:
        task = progress.add_task("upscale", total=info.frame_count, rate="")
        up = FrameUpscaler(runner)
        for out in up.run(src, scene_cut=scene_cut):
            sink.write(out)
            elapsed = time.perf_counter() - t0
            progress.update(task, advance=1, rate=f"{sink.count / elapsed:.2f} fps")
    return UpscaleResult(sink.count, time.perf_counter() - t0, (info.width, info.height),
                         (info.width * s, info.height * s), info.fps, audio is not None and sink.is_video)
