"""`edgevsr report`: the accuracy-vs-FPS sweep as JSON, CSV, plots, an offline HTML page and a Markdown summary;
`edgevsr report merge` puts reports of several machines (e.g. a Jetson and a desktop) into one."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console
from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import new_folder


def _split(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated lists both work: --models egvsr,frvsr --models bicubic."""
    return [v.strip() for x in values or [] for v in x.split(",") if v.strip()]


def _sizes(values: list[str], option: str) -> list[tuple[int, int]]:
    from edgevsr.sizes import parse_size

    return [parse_size(v, option) for v in _split(values)]


def _weights(values: list[str] | None) -> dict[str, str]:
    out = {}
    for v in values or []:
        model, sep, path = v.partition("=")
        if not sep or not model or not path:
            raise EdgeVSRError(f"--weights {v!r}: expected MODEL=PATH_OR_SHIPPED_NAME, e.g. vespcn=vespcn.pth")
        out[model] = path
    return out


def check_report_folder(output: Path, inputs: list) -> None:
    """A report folder is new, empty, or an earlier report's (its cache/ resumes a sweep); nothing else."""
    from edgevsr.io.atomic import check_not_input, check_writable

    check_writable(output)
    check_not_input(output, inputs)
    if output.exists() and not output.is_dir():
        raise EdgeVSRError(f"{output}: is an existing file; a report is a folder, choose another name")
    if output.is_dir() and any(output.iterdir()) and not ((output / "cache").is_dir()
                                                          or (output / "report.json").is_file()):
        raise EdgeVSRError(f"{output}: folder exists, is not empty and is not an edgevsr report; choose another")


def _finish(report: dict, output: Path) -> None:
    from rich.console import Console

    from edgevsr.deploy.report import render_all
    from edgevsr.deploy.report.findings import findings

    written = render_all(report, output)
    out = Console()
    for line in findings(report):
        out.print(f"- {line}", markup=False, highlight=False)
    console.print(f"wrote {written['html']} (+ report.json, cells.csv, summary.md, "
                  f"{sum(1 for k in written if k.startswith('plot'))} plots)")


def register(app: typer.Typer) -> None:
    report_app = typer.Typer(help="Accuracy-vs-FPS report: sweep models x precisions x backends x sizes.",
                             no_args_is_help=False, add_completion=False, rich_markup_mode=None)

    @report_app.callback(invoke_without_command=True)
    def report(
        ctx: typer.Context,
        quick: bool = typer.Option(False, "--quick", help="Minutes on a small CPU: 240x136 only, few frames, "
                                   "opencv-bicubic/bicubic-bd/egvsr-lite/egvsr in FP32, INT8, mixed."),
        output: Annotated[Path, options.output("Output folder (its cache/ lets an interrupted sweep continue).")
                          ] = Path("edgevsr-report"),
        models: list[str] = typer.Option(None, help="Models (repeat or comma-separate); opencv-bicubic = cv2."),
        precisions: list[str] = typer.Option(None, help="fp32, fp16, int8, mixed (repeat or comma-separate)."),
        backends: list[str] = typer.Option(None, help="opencv-cpu, torch-cpu, onnxruntime-cpu, torch-cuda, "
                                           "onnxruntime-cuda, tensorrt."),
        sizes: list[str] = typer.Option(None, help="LR input sizes WIDTHxHEIGHT (default 240x136,480x272,960x544)."),
        eval_data: Path = typer.Option(None, help="GT sequences (folders of frames / videos) for quality; "
                                       "default: a built-in real-photo clip."),
        eval_frames: int = typer.Option(None, help="Frames per evaluation sequence."),
        eval_sequences: int = typer.Option(None, help="Evaluation sequences used (first N)."),
        eval_size: str = typer.Option(None, help="HR WIDTHxHEIGHT of the built-in clip / centre crop of --eval-data."),
        frames: int = typer.Option(None, help="Timed frames per speed cell."),
        warmup: int = typer.Option(None, help="Untimed warm-up frames per speed cell."),
        weights: list[str] = typer.Option(None, help="MODEL=PATH (or shipped name), repeatable."),
        onnx: list[Path] = typer.Option(None, help="Ready ONNX files from `edgevsr quantize` (used for their "
                                        "model / precision instead of quantizing here)."),
        threads: options.Threads = None,
    ) -> None:
        """Measure every cell (or load it from OUTPUT/cache), then write report.html, report.json, cells.csv,
        summary.md and PNG plots into OUTPUT."""
        if ctx.invoked_subcommand is not None:
            return
        from edgevsr.deploy.report import SweepConfig, run_sweep

        cfg = SweepConfig.quick_preset() if quick else SweepConfig()
        if models:
            cfg.models = _split(models)
        if precisions:
            cfg.precisions = _split(precisions)
        if backends:
            cfg.backends = _split(backends)
        if sizes:
            cfg.sizes = _sizes(sizes, "sizes")
        if eval_size:
            cfg.eval_size = _sizes([eval_size], "eval-size")[0]
        for name, value in (("eval_data", eval_data), ("eval_frames", eval_frames),
                            ("eval_sequences", eval_sequences), ("frames", frames), ("warmup", warmup),
                            ("threads", threads)):
            if value is not None:
                setattr(cfg, name, value)
        cfg.weights = _weights(weights)
        cfg.onnx = list(onnx or [])
        cfg.validate()
        check_report_folder(output, [cfg.eval_data, *cfg.onnx])
        command = "edgevsr " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        from edgevsr.cli.progress import frame_progress
        from edgevsr.deploy.report.config import plan_cells

        t0 = time.perf_counter()
        done = [0]
        with frame_progress() as progress:
            task = progress.add_task("cells", total=len(plan_cells(cfg)), rate="")

            def on_cell(cell: dict) -> None:
                done[0] += 1
                sp = cell.get("speed") or {}
                what = (f"{sp['fps']:.2f} FPS" + (" (cached)" if cell.get("cached") else "")) if sp else cell["reason"]
                progress.console.print(f"[dim]{time.perf_counter() - t0:6.0f}s[/] {cell['key']}: {what}",
                                       highlight=False)
                progress.advance(task)

            def status(msg: str) -> None:
                progress.update(task, rate=msg[:70])

            try:
                with new_folder(output):  # a failed first run leaves no empty folder behind
                    rep = run_sweep(cfg, output, status=status, on_cell=on_cell, command=command)
            except KeyboardInterrupt:
                progress.stop()
                console.print(f"interrupted after {done[0]} cells; measured cells are cached in {output / 'cache'}: "
                              "run the same command to continue")
                raise
        _finish(rep, output)

    @report_app.command("merge")
    def merge(
        reports: list[Path] = typer.Argument(..., help="report.json files of `edgevsr report` runs."),
        output: Annotated[Path, options.output("Output folder for the merged report.")] = ...,
    ) -> None:
        """One report from several machines' report.json (cells side by side, one plot per device)."""
        from edgevsr.deploy.report import load_report, merge_reports

        loaded = [load_report(p) for p in reports]
        check_report_folder(output, reports)
        merged = merge_reports(loaded, [str(p) for p in reports])
        merged["command"] = "edgevsr " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        with new_folder(output):
            _finish(merged, output)

    app.add_typer(report_app, name="report")
