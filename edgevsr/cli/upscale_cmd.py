"""`edgevsr upscale`: a video, frame folder or image in, its x4 version out."""

from __future__ import annotations

from pathlib import Path

import typer

from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("upscale")
    def upscale(
        input: Path = typer.Argument(..., help="Video file, folder of frames, or image."),
        output: Path = typer.Option(..., "-o", "--output", help="Output video (.mp4/.mkv/...) or folder for PNGs."),
        model: str = typer.Option(None, help="Model name (see `edgevsr models`); default egvsr, or the model "
                                   "the --onnx file holds."),
        weights: str = typer.Option(None, help="Weights: a .safetensors/.pth path or a shipped name."),
        backend: str = typer.Option("torch", help="torch | onnxruntime | tensorrt"),
        onnx: Path = typer.Option(None, help="Exported ONNX (onnxruntime) or engine (tensorrt) to run."),
        device: str = typer.Option("cpu", help="cpu | cuda"),
        fp16: bool = typer.Option(False, "--fp16", help="Half precision (warp grid and flow scaling stay FP32)."),
        crf: int = typer.Option(18, help="Encoder quality (lower is better; H.264/H.265 0..51, VP9 0..63)."),
        codec: str = typer.Option(None, help="Video encoder for .mp4/.mkv/.mov: h264 (default) | h265."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output (only once the "
                                       "new one is complete)."),
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Damaged/truncated input: keep the "
                                           "frames that decode (and say how many) instead of failing."),
        scene_cut: float = typer.Option(0.1, help="Reset the recurrent state at scene cuts (threshold; 0: off)."),
        cuda_graph: bool = typer.Option(False, "--cuda-graph", help="tensorrt / torch on cuda: CUDA-graph replay."),
        compile: bool = typer.Option(False, "--compile", help="torch: torch.compile the model step."),
        channels_last: bool = typer.Option(False, "--channels-last", help="torch: NHWC memory format."),
    ) -> None:
        """Upscale a video, frame folder or image x4 (audio and timestamps kept, written atomically)."""
        from edgevsr.upscale import upscale as upscale_path

        with frame_progress() as progress:
            task = progress.add_task("upscale", total=None, rate="")

            def on_frame(done: int, total: int | None, seconds: float) -> None:
                progress.update(task, completed=done, total=total, rate=f"{done / seconds:.2f} fps" if seconds else "")

            r = upscale_path(input, output, model=model, weights=weights, backend=backend, onnx=onnx, device=device,
                             precision="fp16" if fp16 else None, crf=crf, on_frame=on_frame, codec=codec,
                             overwrite=overwrite, allow_partial=allow_partial, scene_cut=scene_cut,
                             cuda_graph=cuda_graph, compile=compile, channels_last=channels_last,
                             log=lambda line: progress.console.print(line, markup=False, highlight=False))
        if r.partial:
            console.print(f"warning: {r.partial}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"wrote {output}: {r.frames} frames {r.in_size[0]}x{r.in_size[1]} -> "
                      f"{r.out_size[0]}x{r.out_size[1]} at {r.fps_in:.3f} fps"
                      f"{', audio kept' if r.audio_kept else ''}; {r.seconds:.1f} s ({r.fps:.2f} frames/s)")
