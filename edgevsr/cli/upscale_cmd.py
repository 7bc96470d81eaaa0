"""`edgevsr upscale`: a video, frame folder or image in, its x4 version out."""

from __future__ import annotations

from pathlib import Path

import typer

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.cli.progress import console, frame_callback


def register(app: typer.Typer) -> None:
    @app.command("upscale")
    def upscale(
        input: Path = typer.Argument(..., help="Video file, folder of frames, or image."),
        output: Path = typer.Option(..., "-o", "--output", help="Output video (.mp4/.mkv/...) or folder for PNGs."),
        model: str = typer.Option("egvsr", help="Model name (see `edgevsr models`)."),
        weights: str = typer.Option(None, help="Weights: a .safetensors/.pth path or a shipped name."),
        backend: str = typer.Option("torch", help="torch | onnxruntime | tensorrt"),
        onnx: Path = typer.Option(None, help="Exported ONNX (onnxruntime) or engine (tensorrt) to run."),
        device: str = typer.Option("cpu", help="cpu | cuda"),
        fp16: bool = typer.Option(False, "--fp16", help="Half precision."),
        crf: int = typer.Option(18, help="Encoder quality (lower is better; H.264/H.265 0..51, VP9 0..63)."),
        codec: str = typer.Option(None, help="Video encoder for .mp4/.mkv/.mov: h264 (default) | h265."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output (only once the "
                                       "new one is complete)."),
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Damaged/truncated input: keep the "
                                           "frames that decode (and say how many) instead of failing."),
    ) -> None:
        """Upscale a video, frame folder or image x4 (audio and timestamps kept, written atomically)."""
        from edgevsr.io.frames import FrameSource
        from edgevsr.io.writers import check_sink
        from edgevsr.upscale import upscale_file

        src = FrameSource(input, allow_partial=allow_partial)  # bad input/output fail before any model is built
        check_sink(output, codec=codec, crf=crf, frames=src.info.frame_count, inputs=[input], overwrite=overwrite)
        cfg = RunnerConfig(model=model, weights=weights, backend=backend, device=device,
                           precision="fp16" if fp16 else "fp32", onnx=onnx)
        runner, source = make_runner(cfg)
        console.print(f"[bold]{runner.spec.name}[/] ({source}) on {runner.describe()}")
        with frame_callback("upscale") as on_frame:
            r = upscale_file(runner, src, output, crf=crf, on_frame=on_frame, codec=codec, overwrite=overwrite)
        if r.partial:
            console.print(f"warning: {r.partial}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"wrote {output}: {r.frames} frames {r.in_size[0]}x{r.in_size[1]} -> "
                      f"{r.out_size[0]}x{r.out_size[1]} at {r.fps_in:.3f} fps"
                      f"{', audio kept' if r.audio_kept else ''}; {r.seconds:.1f} s ({r.fps:.2f} frames/s)")
