"""`edgevsr profile`: synchronised latency / FPS / memory / roofline / power of any backend, as a table and JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgevsr.cli.progress import console
from edgevsr.errors import EdgeVSRError

out = Console()  # tables to stdout, notes to stderr
FILE_SCHEMA = "edgevsr.profile/1"


def _num(v, digits: int = 1, suffix: str = "") -> str:
    return "-" if v is None else f"{v:.{digits}f}{suffix}"


def results_tables(runs: list[dict]) -> list[Table]:
    """Timing (synchronised, ms per frame) and resources, one row per input size."""
    timing = Table(title=f"edgevsr profile: {runs[0]['runner']} (ms per frame, synchronised)")
    for col in ("LR -> HR", "median", "p90", "p99", "FPS", "pre/infer/post %"):
        timing.add_column(col, justify="left" if col == "LR -> HR" else "right")
    res = Table(title="resources")
    for col in ("LR -> HR", "peak MiB", "GFLOP/frame", "GFLOP/s", "% of peak", "matmul GFLOP/s", "W", "FPS/W"):
        res.add_column(col, justify="left" if col == "LR -> HR" else "right")
    for r in runs:
        i, lat, share, comp, pw = r["input"], r["latency_ms"], r["stage_share"], r["compute"], r["power"] or {}
        size = f"{i['width']}x{i['height']} -> {i['output'][0]}x{i['output'][1]}"
        timing.add_row(size, _num(lat["median"]), _num(lat["p90"]), _num(lat["p99"]), _num(r["fps"], 2),
                       "/".join(f"{100 * share[s]:.0f}" for s in ("pre", "infer", "post")))
        res.add_row(size, _num(r["memory"]["peak_mib"], 0), _num(comp["gflop_per_frame"]),
                    _num(comp["achieved_gflops"]), _num(comp["roofline_pct"]), _num(comp.get("matmul_gflops")),
                    _num(pw.get("avg_w")),
                    _num(pw.get("fps_per_w"), 3))
    return [timing, res]


def layers_table(run: dict, top: int = 20) -> Table:
    t = Table(title=f"slowest TensorRT layers at {run['input']['width']}x{run['input']['height']} (IProfiler)")
    t.add_column("layer")
    t.add_column("mean ms", justify="right")
    t.add_column("share", justify="right")
    rows = run["layers"] or []
    total = sum(r["mean_ms"] for r in rows) or 1.0
    for r in rows[:top]:
        t.add_row(r["layer"][:80], f"{r['mean_ms']:.3f}", f"{100 * r['mean_ms'] / total:.1f}%")
    return t


def register(app: typer.Typer) -> None:
    @app.command("profile")
    def profile(
        backend: str = typer.Option("torch", help="torch | onnxruntime | tensorrt"),
        model: str = typer.Option(None, help="Model name (see `edgevsr models`); default egvsr, or the model "
                                                 "the --onnx / --engine file holds."),
        weights: str = typer.Option(None, help="Weights for the torch backend (path or shipped name)."),
        allow_random: bool = typer.Option(
            False, "--allow-random", help="Untrained weights if none are shipped (timing does not depend on them)."),
        onnx: Path = typer.Option(None, help="ONNX export (onnxruntime; tensorrt builds/reuses a cached engine)."),
        engine: Path = typer.Option(None, help="TensorRT engine built by `edgevsr build`."),
        device: str = typer.Option("cpu", help="cpu | cuda"),
        fp16: bool = typer.Option(False, "--fp16", help="Half precision (torch backend)."),
        size: list[str] = typer.Option(["240x136"], help="LR input WIDTHxHEIGHT; repeat for several sizes."),
        input: Path = typer.Option(None, "--input", help="Time on this video/folder's frames instead of a "
                                   "synthetic panning texture (its size replaces --size)."),
        frames: int = typer.Option(30, help="Timed frames per size."),
        warmup: int = typer.Option(5, help="Untimed warm-up frames (kernel selection, allocator, caches)."),
        threads: int = typer.Option(None, help="CPU threads for torch / onnxruntime."),
        layers: bool = typer.Option(False, "--layers", help="Per-layer times via TensorRT's IProfiler."),
        cuda_graph: bool = typer.Option(False, "--cuda-graph", help="tensorrt / torch on cuda: replay each step "
                                        "as a CUDA graph."),
        compile: bool = typer.Option(False, "--compile", help="torch: torch.compile the model step."),
        channels_last: bool = typer.Option(False, "--channels-last", help="torch: NHWC memory format."),
        peak_tflops: float = typer.Option(None, help="Override the device peak (TFLOP/s) for the % of peak."),
        json_out: Path = typer.Option(None, "--json", help="Write the runs as JSON (for `edgevsr report`)."),
    ) -> None:
        """Warm up, then time N frames with synchronisation: latency percentiles, FPS, stage shares, memory,
        FLOPs vs device peak, power (NVML / jtop when installed)."""
        import torch

        from edgevsr.backends.registry import RunnerConfig, make_runner
        from edgevsr.backends.tensorrt.engine_record import parse_size
        from edgevsr.deploy.profile import frames_from_file, synthetic_frames
        from edgevsr.deploy.session import ProfilingSession, engine_for
        from edgevsr.io.atomic import check_writable

        if frames < 1 or warmup < 0:
            raise EdgeVSRError("--frames must be >= 1 and --warmup >= 0")
        if layers and backend != "tensorrt":
            raise EdgeVSRError("--layers needs --backend tensorrt (per-layer times come from TensorRT's IProfiler)")
        if json_out is not None:
            check_writable(json_out)
        if threads:
            torch.set_num_threads(threads)
        sizes = [parse_size(s) for s in size]
        if input is not None:
            clip, source = frames_from_file(input, warmup + frames)
            clips = [(clip, source)]
        else:
            clips = [(list(synthetic_frames(w, h, warmup + frames)), "synthetic (panning texture, seed 0)")
                     for w, h in sizes]

        session = ProfilingSession(threads, peak_tflops, status=lambda msg: console.print(msg, markup=False))
        model_file = engine if backend == "tensorrt" and engine is not None else onnx
        if backend == "tensorrt" and model_file is not None and model_file.suffix.lower() == ".onnx":
            model_file = engine_for(model_file, [(c[0].shape[1], c[0].shape[0]) for c, _ in clips], fp16,
                                    log=lambda msg: console.print(msg, markup=False))
        cfg = RunnerConfig(model=model, weights=weights, backend=backend, device=device,
                           precision="fp16" if fp16 else None, onnx=model_file, allow_random=allow_random,
                           cuda_graph=cuda_graph, compile=compile, channels_last=channels_last, layer_timing=layers,
                           threads=threads)
        runner, source_desc = make_runner(cfg)
        name = runner.spec.name
        on_gpu = str(getattr(runner, "device", "cpu")).startswith("cuda")
        dev = "cuda" if on_gpu else "cpu"
        session.peak(dev, getattr(getattr(runner, "device", None), "index", None))  # said before the timed runs
        if "RANDOM" in source_desc:
            console.print("weights: random (no trained weights shipped); timing does not depend on weight values")
        console.print(f"[bold]{name}[/] ({source_desc}) on {runner.describe()}")

        runs = [session.profile(runner, clip, warmup, name, dev, source, layers=layers,
                                info={"weights": source_desc}) for clip, source in clips]
        for table in results_tables(runs):
            out.print(table)
        for run in runs:
            if run["layers"]:
                out.print(layers_table(run))
        if not on_gpu:
            load, cpus = runs[-1]["environment"]["loadavg_after"][0], os.cpu_count() or 1
            busy = " (other work shared the CPU: figures are a lower bound)" if load > 0.75 * cpus else ""
            console.print(f"load average {load:.2f} on {cpus} CPUs during the run{busy}")
        if json_out is not None:
            from edgevsr.io.atomic import atomic_path

            with atomic_path(json_out) as tmp:
                tmp.write_text(json.dumps({"schema": FILE_SCHEMA, "runs": runs}, indent=2))
            console.print(f"wrote {json_out}")

