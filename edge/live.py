"""``edgevsr.run(source, sink, ...)``: live x4 upscaling from a camera, stream or file to a window, file or stream.

It lives in the edge stage, beside the pipeline it drives (docs/architecture.md).

What ``edgevsr run`` does, as a library function: the command only parses its options, draws progress and
prints the summary. Sources and sinks are URIs (``v4l2:///dev/video0``, ``file://clip.mp4`` or a path,
``test://``; ``display://0``, ``file://out.mp4``, ``rtp://host:port``, ``null://``) or objects from
:mod:`edgevsr.edge.sources` / :mod:`edgevsr.edge.sinks`. Every check that can fail (paths, devices, options,
numbers) runs before the model loads. A >8-bit file source is upscaled at its depth (a ``file://`` sink
writes 10-bit video); sinks that keep 8 bits get it rounded, and a log line says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgevsr.backends.base import Runner


def run(source: str = "test://", sink: str = "display://0", *, model: str | None = None,
        weights: str | Path | None = None, backend: str = "torch", onnx: str | Path | None = None,
        device: str = "cpu", precision: str | None = None, runner: Runner | None = None, allow_random: bool = False,
        cuda_graph: bool = False, compile: bool = False, channels_last: bool = False, threads: int | None = None,
        width: int | None = None, height: int | None = None, fps: float | None = None, loop: int | None = None,
        flip: str | None = None, realtime: bool | None = None, codec: str | None = None, bitrate: int | None = None,
        headless: bool = False, policy: str = "auto", queue: int = 2, scene_cut: float = 0.1,
        stall_timeout: float = 10.0, frames: int | None = None, split: bool = False, overlay: bool | None = None,
        overwrite: bool = False, on_frame: Callable[[np.ndarray, object], None] | None = None,
        log: Callable[[str], None] | None = None, on_start: Callable[[object], None] | None = None,
        stop_on_signals: bool = False):
    """Upscale ``source`` into ``sink`` until the input ends, the user quits or ``frames`` were read.

    ``runner`` (from :func:`edgevsr.make_runner`) replaces the runner arguments (model ... ``threads``):
    giving one of them beside it is refused, as a flag the chosen backend would not read is.

    Returns the :class:`~edgevsr.edge.pipeline.PipelineStats`. ``on_frame(hr, meta)`` is called after each
    frame reached the sink; ``log`` gets the lines the command prints (what runs, reconnects);
    ``on_start(pipeline)`` receives the pipeline before it runs (``pipeline.stop()`` ends it from elsewhere).
    ``stop_on_signals``: SIGINT/SIGTERM/SIGHUP finish the run and keep what was recorded (the CLI's
    behaviour; a library leaves signals alone by default).
    """
    import edgevsr.checks as checks
    from edgevsr.backends.registry import make_runner, refuse_beside_runner, runner_config
    from edgevsr.edge.pipeline import Pipeline, audio_source, check_options
    from edgevsr.edge.sinks import make_sink
    from edgevsr.edge.sources import make_source
    from edgevsr.edge.uri import parse_uri
    from edgevsr.io.signals import graceful_stop
    from edgevsr.stream import FrameUpscaler, keeps_depth

    say = log or (lambda _line: None)
    flags = dict(model=model, weights=weights, backend=backend, device=device, precision=precision,
                 allow_random=allow_random, onnx=onnx, cuda_graph=cuda_graph, compile=compile,
                 channels_last=channels_last, threads=threads)
    if runner is None:  # flags the backend would not read are refused before any device opens
        cfg = runner_config(**flags)
    else:
        refuse_beside_runner(**flags)
    check_options(policy, queue, scene_cut, stall_timeout)
    checks.optional_count(frames, "--frames")
    if fps is not None:
        checks.positive(fps, "--fps")
    sink_uri = parse_uri(sink, "sink").with_options(codec=codec, bitrate=bitrate, headless=True if headless else None)
    src_uri = parse_uri(source, "source")
    if realtime is None and src_uri.scheme == "file" and sink_uri.scheme == "display":
        realtime = True  # a file shown in a window plays at its own rate
    src_uri = src_uri.with_options(width=width, height=height, fps=fps, loop=loop, flip=flip, realtime=realtime)
    src = make_source(src_uri)
    src.on_report = say  # reconnects, live (from the capture thread)
    info = getattr(src, "info", None)  # file sources: frame names, count, audio, rotation
    out = make_sink(sink_uri, audio_from=audio_source(src) if policy != "drop" else None,
                    names=info.names if info else None, overwrite=overwrite,
                    inputs=(src_uri.path,) if src_uri.scheme == "file" else (), like=info)
    out.check()  # a bad output fails before the model loads
    if runner is None:
        runner, weights_from = make_runner(cfg)
    else:
        weights_from = "runner given"
    say(f"{runner.spec.name} ({weights_from}) on {runner.describe()}: {src_uri} -> {sink_uri}")
    if "RANDOM" in weights_from:
        say("untrained weights: the picture is meaningless (plumbing test only)")
    bits, keeps = getattr(src, "bits", 8), getattr(out, "bits", 8)
    if bits > 8 and not keeps_depth(runner):  # as `edgevsr upscale`: said, never silent
        src.decode_8bit()
        say(f"{src_uri}: {bits}-bit input decoded to 8 bits: the {runner.name} runner takes 8-bit frames only "
            "(torch and onnxruntime keep the depth)")
    elif keeps < bits:
        say(f"{sink_uri}: keeps {keeps} bits per sample: the {bits}-bit picture is upscaled at full depth, then "
            f"rounded to {keeps} bits for it")
    pipe = Pipeline(src, FrameUpscaler(runner), out, policy=policy, queue_size=queue, scene_cut=scene_cut,
                    stall_timeout=stall_timeout, max_frames=frames, overlay=overlay, split=split,
                    label=f"{runner.spec.name} {runner.describe()}", on_frame=on_frame)
    if on_start is not None:
        on_start(pipe)
    if not stop_on_signals:
        return pipe.run()

    def on_signal(name: str) -> None:
        pipe.stop("interrupted (Ctrl-C)" if name == "SIGINT" else f"stopped by {name}")

    with graceful_stop(on_signal):  # SIGTERM/SIGINT/SIGHUP: finish and keep what was recorded
        return pipe.run()
