"""`edgevsr compare`: two backends / precisions on the same real frames; max/mean abs error and PSNR per frame."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgevsr.cli import options
from edgevsr.cli.progress import console
from edgevsr.errors import EdgeVSRError

out = Console()


def parse_side(text: str) -> tuple[str, str | None, Path | None]:
    """``BACKEND[:PRECISION][=FILE]`` -> (backend, precision, file), e.g. ``onnxruntime=int8.onnx``, ``torch:fp16``.

    No precision: None (fp32 for torch, what the file carries for onnxruntime / tensorrt)."""
    head, _, file = text.partition("=")
    backend, _, precision = head.partition(":")
    if backend not in ("torch", "onnxruntime", "tensorrt"):
        raise EdgeVSRError(f"{text!r}: expected BACKEND[:PRECISION][=FILE] with BACKEND torch, onnxruntime or tensorrt")
    if precision not in ("", "fp32", "fp16"):
        raise EdgeVSRError(f"{text!r}: precision must be fp32 or fp16 (INT8 comes from the ONNX/engine file)")
    return backend, precision or None, Path(file) if file else None


def diff_table(result) -> Table:
    t = Table(title=f"{result.output}: test = {result.test}  vs  reference = {result.reference}")
    for col in ("frame", "max |err|", "mean |err|", "PSNR dB", ""):
        t.add_column(col, justify="right")
    for f in result.frames:
        t.add_row(str(f.frame), f"{f.max_abs:.5f}", f"{f.mean_abs:.6f}",
                  "inf" if f.psnr_db == float("inf") else f"{f.psnr_db:.2f}", "" if f.passed else "[red]FAIL[/]")
    return t


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        input: Path = typer.Argument(..., help="Video, frame folder or image: the real frames both sides run on."),
        ref: str = typer.Option("torch", help="Reference: BACKEND[:PRECISION][=FILE]."),
        test: str = typer.Option("onnxruntime", help="Under test: BACKEND[:PRECISION][=FILE] (FILE: ONNX or engine)."),
        model: options.Model = None,
        weights: options.Weights = None,
        allow_random: options.AllowRandom = False,
        onnx: options.Onnx = None,
        engine: options.Engine = None,
        device: options.Device = "cpu",
        frames: int = typer.Option(8, help="Frames to compare."),
        max_abs: float = typer.Option(None, help="Fail a frame whose max abs error exceeds this."),
        min_psnr: float = typer.Option(None, help="Fail a frame whose PSNR (dB) is below this."),
        fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failing frame."),
        json_out: options.Json = None,
    ) -> None:
        """Run two backends/precisions on the same frames and diff their raw outputs (exit 1 on threshold failure).

        --model and --weights serve the torch sides (a FILE side must hold that model); --onnx and --engine are
        the default FILE of onnxruntime and tensorrt sides."""
        from itertools import islice

        from edgevsr.backends.registry import make_runner, runner_config
        from edgevsr.deploy.compare import compare_runners
        from edgevsr.io.frames import FrameSource

        if frames < 1:
            raise EdgeVSRError(f"--frames {frames}: must be >= 1")
        if json_out is not None:
            from edgevsr.io.atomic import check_output

            check_output(json_out, inputs=[input, onnx, engine], flag=None)
        clip = list(islice(iter(FrameSource(input)), frames))  # bad input fails before any model loads
        if not clip:
            raise EdgeVSRError(f"{input}: no frames")
        runners = []
        for side in (ref, test):
            backend, precision, file = parse_side(side)
            file = file or (engine if backend == "tensorrt" else onnx if backend == "onnxruntime" else None)
            torch_side = backend == "torch" and file is None  # --weights / --allow-random serve the torch sides
            cfg = runner_config(model=model, weights=weights if torch_side else None, backend=backend, device=device,
                                precision=precision, allow_random=allow_random and torch_side, onnx=file)
            runners.append(make_runner(cfg)[0])
        result = compare_runners(*runners, clip, max_abs=max_abs, min_psnr=min_psnr, fail_fast=fail_fast)
        out.print(diff_table(result))
        s = result.summary()
        console.print(f"max |err| {s['max_abs']:.5f}, mean |err| {s['mean_abs']:.6f}, "
                      f"min PSNR {s['min_psnr_db']:.2f} dB over {len(result.frames)} frames"
                      f"{' (stopped early)' if result.stopped_early else ''}")
        if json_out is not None:
            from edgevsr.io.atomic import atomic_path

            with atomic_path(json_out) as tmp:
                tmp.write_text(json.dumps(result.to_dict(), indent=2))
        if not result.passed:
            console.print(f"FAIL: frame {s['first_failing_frame']} exceeds the thresholds "
                          f"(max_abs={max_abs}, min_psnr={min_psnr})")
            raise typer.Exit(1)
        if max_abs is not None or min_psnr is not None:
            console.print("PASS")
