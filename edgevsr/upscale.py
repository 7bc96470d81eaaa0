"""Upscale a video / frame folder / image to a file, streaming frame by frame (bounded memory).

:func:`upscale` is what ``edgevsr upscale`` and ``edgevsr.upscale(...)`` both run. Progress and
messages leave through callbacks, so the library never imports the CLI. The module itself is
callable (``edgevsr.upscale(src, dst)``): the public name and the module name are the same.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.base import Runner
from edgevsr.callable_module import make_callable
from edgevsr.io.frames import FrameSource
from edgevsr.io.writers import FrameSink
from edgevsr.scene import DEFAULT_THRESHOLD
from edgevsr.stream import FrameUpscaler, keeps_depth

# (frames written so far, frames in the source or None when unknown, seconds since the first frame was read)
ProgressFn = Callable[[int, "int | None", float], None]


@dataclass
class UpscaleResult:
    frames: int
    seconds: float
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    fps_in: float
    audio_kept: bool
    output: Path | None = None
    weights: str = ""  # where the weights came from (shipped name, path, ONNX file)
    partial: str | None = None  # what was lost when damaged input was kept with allow_partial

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def upscale_file(runner: Runner, src: FrameSource | Path, dst_path: Path, crf: int = 18,
                 on_frame: ProgressFn | None = None, codec: str | None = None,
                 overwrite: bool = False, scene_cut: float = DEFAULT_THRESHOLD) -> UpscaleResult:
    """Upscale every frame of ``src``, write ``dst_path`` atomically (audio and timestamps kept for videos).

    ``on_frame`` is called after each written frame (the CLI draws its progress bar from it). The
    recurrent state resets at scene cuts (``scene_cut`` threshold, 0: never), as in the live runtime
    and `edgevsr batch`, so all three give the same pictures.
    """
    src = src if isinstance(src, FrameSource) else FrameSource(src, deep=True)
    info = src.info
    if src.format == "rgb48le" and not keeps_depth(runner):
        import warnings

        warnings.warn(f"{info.path}: {info.bits}-bit input decoded to 8 bits: the {runner.name} runner takes 8-bit "
                      "frames only (torch and onnxruntime keep the depth)", stacklevel=2)
        src.format = "rgb24"
    audio = info.path if info.kind == "video" and info.has_audio else None
    sink = FrameSink(dst_path, fps=info.fps, codec=codec, crf=crf, audio_from=audio, names=info.names,
                     overwrite=overwrite, inputs=[info.path], like=info)
    s = runner.spec.scale
    times: deque = deque()  # presentation times of frames read but not yet written (models may lag)

    def timed():
        for frame in src:
            times.append(src.last_time)
            yield frame

    t0 = time.perf_counter()
    with sink, runner:
        for out in FrameUpscaler(runner, scene_cut).run(timed()):
            sink.write(out, times.popleft() if times else None)
            if on_frame is not None:
                on_frame(sink.count, info.frame_count, time.perf_counter() - t0)
    return UpscaleResult(sink.count, time.perf_counter() - t0, (info.width, info.height),
                         (info.width * s, info.height * s), info.fps, audio is not None and sink.is_video,
                         Path(dst_path), partial=src.partial)


def upscale(src: str | Path, dst: str | Path, *, model: str | None = None, weights: str | None = None,
            backend: str = "torch", onnx: str | Path | None = None, device: str = "cpu",
            precision: str | None = None,
            runner: Runner | None = None, crf: int = 18, on_frame: ProgressFn | None = None,
            log: Callable[[str], None] | None = None, codec: str | None = None, overwrite: bool = False,
            allow_partial: bool = False, scene_cut: float = DEFAULT_THRESHOLD, cuda_graph: bool = False,
            compile: bool = False, channels_last: bool = False, threads: int | None = None) -> UpscaleResult:
    """Upscale a video, frame folder or image x4 into ``dst`` (video file, or folder for PNGs).

    Bad input and output paths fail before any model is built. ``model`` / ``precision`` None: egvsr in
    fp32 (torch), or what the ONNX / engine holds (a contradicting value is refused). ``runner`` (from
    :func:`edgevsr.make_runner`) replaces model/weights/backend/onnx/device/precision and the backend options
    (``cuda_graph``, ``compile``, ``channels_last``, ``threads``: see :mod:`edgevsr.backends.registry`; one the
    backend would not read is refused, and so is any of them given beside ``runner``). ``threads`` sets torch's
    (process-wide) or the ONNX Runtime session's CPU threads. ``log`` gets one line naming what runs.
    """
    import edgevsr.checks as checks
    from edgevsr.backends.registry import make_runner, refuse_beside_runner, runner_config
    from edgevsr.io.writers import check_sink

    checks.scene_cut(scene_cut)
    flags = dict(model=model, weights=weights, backend=backend, device=device, precision=precision, onnx=onnx,
                 cuda_graph=cuda_graph, compile=compile, channels_last=channels_last, threads=threads)
    if runner is None:  # flags the backend would not read are refused before any file is opened
        cfg = runner_config(**flags)
    else:
        refuse_beside_runner(**flags)

    source, dst = FrameSource(Path(src), allow_partial=allow_partial, deep=True), Path(dst)
    check_sink(dst, codec=codec, crf=crf, frames=source.info.frame_count, inputs=[src], overwrite=overwrite,
               names=source.info.names)
    if runner is None:
        runner, described = make_runner(cfg)
    else:
        described = "runner given"
    if log is not None:
        log(f"{runner.spec.name} ({described}) on {runner.describe()}")
    result = upscale_file(runner, source, dst, crf=crf, on_frame=on_frame, codec=codec, overwrite=overwrite,
                          scene_cut=scene_cut)
    result.weights = described
    return result


make_callable(__name__, "upscale")
