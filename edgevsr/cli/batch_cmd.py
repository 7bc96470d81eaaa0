"""`edgevsr batch`: a video library upscaled on a local or multi-node Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        inputs: list[Path] = typer.Argument(..., help="Video files, folders (walked recursively), manifests (.txt)."),
        out_dir: Annotated[Path, options.output("Output folder: same relative paths as the inputs.")] = ...,
        address: str = typer.Option(None, help="Ray cluster to join: auto | ray://host:port (default: local Ray)."),
        workers: int = typer.Option(None, help="Model actors (default: one per GPU, else 1)."),
        gpus_per_worker: float = typer.Option(1.0, help="GPUs per actor where the cluster has GPUs."),
        cpus_per_worker: float = typer.Option(1.0, help="CPUs Ray reserves per actor (decode + encode run there)."),
        chunk_seconds: float = typer.Option(10.0, help="Longest chunk; chunks also start at scene cuts."),
        lead_in: int = typer.Option(None, help="Warm-up frames before a mid-shot chunk (default: measured K)."),
        scene_cut: float = typer.Option(0.1, help="Scene-cut threshold (the runtime's detector; 0: off)."),
        model: options.Model = None,
        weights: options.Weights = None,
        backend: options.Backend = "torch",
        onnx: options.Onnx = None,
        precision: options.Precision = None,
        fp16: options.Fp16 = False,
        crf: int = typer.Option(18, help="H.264 quality (lower is better; 0: lossless)."),
        resume: bool = typer.Option(False, "--resume", help="Reuse chunks a killed job finished (journal in OUT_DIR)."),
        json_path: options.Json = None,
    ) -> None:
        """Upscale many videos on Ray: chunks at scene cuts, one model per actor, outputs written atomically."""
        from edgevsr.backends.registry import runner_config
        from edgevsr.batch.job import DEFAULT_LEAD_IN, run_batch
        from edgevsr.io.atomic import atomic_path, check_output

        if json_path is not None:
            check_output(json_path, inputs=inputs, flag=None)
        cfg = runner_config(model=model, weights=weights, backend=backend,
                            precision=options.precision_from(precision, fp16=fp16), onnx=onnx)
        with frame_progress() as progress:
            task = progress.add_task("batch", total=None, rate="")

            def show(p) -> None:
                progress.update(task, completed=p.done, total=p.total or None, rate=f"{p.fps:.1f} fps")
                if p.event in ("failed", "retry"):
                    progress.console.print(f"{p.event}: {p.detail.get('error')}", markup=False, highlight=False)

            summary = run_batch(inputs, out_dir, cfg, on_progress=show, address=address, workers=workers,
                                gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                                chunk_seconds=chunk_seconds,
                                lead_in=DEFAULT_LEAD_IN if lead_in is None else lead_in, scene_cut=scene_cut,
                                crf=crf, resume=resume)
        for w in summary["workers"]:
            console.print(f"{w['name']} ({w.get('runner', '?')}, pid {', '.join(map(str, w['pids']))}): "
                          f"{w['frames']} frames in {w['chunks']} chunks, {w['fps']:.2f} frames/s", markup=False)
        for r in summary["inputs"]:
            state = r["status"] if r["status"] != "failed" else f"FAILED: {r['error']}"
            console.print(f"{r['input']} -> {r['output']}: {state} ({r['frames']} frames, {r['fps']:.2f} fps, "
                          f"{r['retries']} retries, {r['chunks_reused']}/{r['chunks']} chunks reused)", markup=False)
        console.print(f"{summary['frames']} frames in {summary['seconds']:.1f} s ({summary['fps']:.2f} frames/s); "
                      f"{summary['failed']} of {len(summary['inputs'])} inputs failed", markup=False)
        if json_path is not None:
            with atomic_path(json_path) as tmp:
                tmp.write_text(json.dumps(summary, indent=2) + "\n")
        if summary["failed"]:
            raise typer.Exit(2)
