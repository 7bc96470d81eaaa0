"""`edgevsr run`: live x4 upscaling from a camera, stream or file to a window, file, stream or nowhere."""

from __future__ import annotations

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        source: str = typer.Option("test://", "--source", "-i",
                                   help="v4l2:///dev/video0, csi://0, rtsp://host/path, file://clip.mp4 (or a "
                                        "path / frame folder), test:// (options: ?width=&height=&fps=&loop=&flip=)"),
        sink: str = typer.Option("display://0", "-o", "--output", "--sink",
                                 help="display://0, file://out.mp4 (or a path / folder), rtp://host:port, "
                                      "rtsp://server:8554/path, null://"),
        model: options.Model = None,
        weights: options.Weights = None,
        backend: options.Backend = "torch",
        onnx: options.Onnx = None,
        device: options.Device = "cpu",
        precision: options.Precision = None,
        cuda_graph: options.CudaGraph = False,
        compile: options.Compile = False,
        channels_last: options.ChannelsLast = False,
        threads: options.Threads = None,
        allow_random: options.AllowRandom = False,
        width: int = typer.Option(None, help="Input width (camera mode / resize)."),
        height: int = typer.Option(None, help="Input height."),
        fps: float = typer.Option(None, help="Input frame rate (cameras, test://, real-time file playback)."),
        loop: int = typer.Option(None, help="File input: repeat N more times (-1 forever)."),
        flip: str = typer.Option(None, help="none | horizontal | vertical | rotate-180"),
        realtime: bool = typer.Option(None, "--realtime/--no-realtime",
                                      help="Pace file/test input at its frame rate (default: files to a display "
                                           "and test:// are paced)."),
        codec: str = typer.Option(None, help="Output codec: libx264... for files, h264|h265 for rtp/rtsp."),
        bitrate: int = typer.Option(None, help="rtp/rtsp output bitrate, bits/s."),
        headless: bool = typer.Option(False, "--headless", help="No window: display:// becomes a null sink."),
        policy: str = typer.Option("auto", help="When the upscaler falls behind: drop (oldest) | block | auto "
                                                "(drop for live input, block for files)."),
        queue: int = typer.Option(2, help="Frames each pipeline queue holds (latency vs smoothness)."),
        scene_cut: float = typer.Option(0.1, help="Scene-cut threshold on thumbnail difference (0: off)."),
        stall_timeout: float = typer.Option(10.0, help="Fail if the source hangs this many seconds."),
        frames: int = typer.Option(None, help="Stop after this many input frames."),
        split: bool = typer.Option(False, "--split", help="Start in split view (bicubic | model); key s."),
        overlay: bool = typer.Option(None, "--overlay/--no-overlay", help="Stats on the frames (default: "
                                                                          "on for display sinks)."),
        overwrite: options.Overwrite = False,
    ) -> None:
        """Upscale live from a camera/stream/file to a window/file/stream (keys: q quit, s split, p pause)."""
        from edgevsr.edge.live import run as run_live
        from edgevsr.edge.uri import parse_uri

        precision = options.precision_from(precision)
        sink_uri = parse_uri(sink, "sink")
        with frame_progress(transient=sink_uri.scheme == "display" and not headless) as progress:
            task = progress.add_task("run", total=frames, rate="")
            state = {}

            def started(pipe) -> None:
                state["pipe"] = pipe
                info = getattr(pipe.source, "info", None)
                if frames is None and info is not None and not getattr(pipe.source, "loop", 0):
                    progress.update(task, total=info.frame_count)

            def tick(hr, meta) -> None:
                s = state["pipe"].stats
                progress.update(task, advance=1, rate=f"{s.fps_now():.1f} fps, {s.latency_ms(50):.0f} ms, "
                                                      f"{s.dropped} dropped")

            stats = run_live(source, sink, model=model, weights=weights, backend=backend, onnx=onnx, device=device,
                             precision=precision, allow_random=allow_random, cuda_graph=cuda_graph, compile=compile,
                             channels_last=channels_last, threads=threads, width=width, height=height, fps=fps,
                             loop=loop, flip=flip,
                             realtime=realtime, codec=codec, bitrate=bitrate, headless=headless, policy=policy,
                             queue=queue, scene_cut=scene_cut, stall_timeout=stall_timeout, frames=frames,
                             split=split, overlay=overlay, overwrite=overwrite, on_frame=tick, on_start=started,
                             log=lambda line: progress.console.print(line, markup=False, highlight=False),
                             stop_on_signals=True)
        if stats.shown == 0:
            console.print(f"no frames shown; stopped: {stats.stop_reason}", markup=False)
            return
        where = f"wrote {sink_uri.location}: " if sink_uri.scheme == "file" else ""
        console.print(f"{where}{stats.in_size[0]}x{stats.in_size[1]} -> {stats.out_size[0]}x{stats.out_size[1]}; "
                      f"{stats.summary()}", markup=False)
