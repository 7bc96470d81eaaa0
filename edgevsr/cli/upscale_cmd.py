"""`edgevsr upscale`: a video, frame folder or image in, its x4 version out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("upscale")
    def upscale(
        input: Path = typer.Argument(..., help="Video file, folder of frames, or image."),
        output: Annotated[Path, options.output("Output video (.mp4/.mkv/...) or folder for PNGs.")] = ...,
        model: options.Model = None,
        weights: options.Weights = None,
        backend: options.Backend = "torch",
        onnx: options.Onnx = None,
        device: options.Device = "cpu",
        precision: options.Precision = None,
        fp16: options.Fp16 = False,
        crf: int = typer.Option(18, help="Encoder quality (lower is better; H.264/H.265 0..51, VP9 0..63)."),
        codec: str = typer.Option(None, help="Video encoder for .mp4/.mkv/.mov: h264 (default) | h265."),
        overwrite: options.Overwrite = False,
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Damaged/truncated input: keep the "
                                           "frames that decode (and say how many) instead of failing."),
        scene_cut: float = typer.Option(0.1, help="Reset the recurrent state at scene cuts (threshold; 0: off)."),
        cuda_graph: options.CudaGraph = False,
        compile: options.Compile = False,
        channels_last: options.ChannelsLast = False,
        threads: options.Threads = None,
    ) -> None:
        """Upscale a video, frame folder or image x4 (audio and timestamps kept, written atomically)."""
        from edgevsr.upscale import upscale as upscale_path

        precision = options.precision_from(precision, fp16=fp16)
        with frame_progress() as progress:
            task = progress.add_task("upscale", total=None, rate="")

            def on_frame(done: int, total: int | None, seconds: float) -> None:
                progress.update(task, completed=done, total=total, rate=f"{done / seconds:.2f} fps" if seconds else "")

            r = upscale_path(input, output, model=model, weights=weights, backend=backend, onnx=onnx, device=device,
                             precision=precision, crf=crf, on_frame=on_frame, codec=codec,
                             overwrite=overwrite, allow_partial=allow_partial, scene_cut=scene_cut,
                             cuda_graph=cuda_graph, compile=compile, channels_last=channels_last, threads=threads,
                             log=lambda line: progress.console.print(line, markup=False, highlight=False))
        if r.partial:
            console.print(f"warning: {r.partial}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"wrote {output}: {r.frames} frames {r.in_size[0]}x{r.in_size[1]} -> "
                      f"{r.out_size[0]}x{r.out_size[1]} at {r.fps_in:.3f} fps"
                      f"{', audio kept' if r.audio_kept else ''}; {r.seconds:.1f} s ({r.fps:.2f} frames/s)")
