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
        fp16: bool = typer.Option(False, "--fp16", help="Half precision (warp grid and flow scaling stay FP32)."),
        cuda_graph: bool = typer.Option(False, "--cuda-graph", help="tensorrt / torch on cuda: CUDA-graph replay."),
        compile: bool = typer.Option(False, "--compile", help="torch: torch.compile the model step."),
        channels_last: bool = typer.Option(False, "--channels-last", help="torch: NHWC memory format."),
        crf: int = typer.Option(18, help="H.264 quality (lower is better)."),
    ) -> None:
        """Upscale a video, frame folder or image x4 (audio kept, written atomically)."""
        from edgevsr.io.atomic import check_writable
        from edgevsr.io.frames import FrameSource
        from edgevsr.upscale import upscale_file

        src = FrameSource(input)  # bad input and output paths fail before any model is built
        check_writable(output)
        cfg = RunnerConfig(model=model, weights=weights, backend=backend, device=device,
                           precision="fp16" if fp16 else "fp32", onnx=onnx, cuda_graph=cuda_graph, compile=compile,
                           channels_last=channels_last)
        runner, source = make_runner(cfg)
        console.print(f"[bold]{runner.spec.name}[/] ({source}) on {runner.describe()}")
        with frame_callback("upscale") as on_frame:
            r = upscale_file(runner, src, output, crf=crf, on_frame=on_frame)
        console.print(f"wrote {output}: {r.frames} frames {r.in_size[0]}x{r.in_size[1]} -> "
                      f"{r.out_size[0]}x{r.out_size[1]} at {r.fps_in:.3f} fps"
                      f"{', audio kept' if r.audio_kept else ''}; {r.seconds:.1f} s ({r.fps:.2f} frames/s)")
