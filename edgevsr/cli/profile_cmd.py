"""`edgevsr profile`: synchronised latency / FPS / memory / roofline / power of any backend, as a table and JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgevsr.cli import options
from edgevsr.cli.progress import console

out = Console()  # tables to stdout, notes to stderr


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
        backend: options.Backend = "torch",
        model: options.Model = None,
        weights: options.Weights = None,
        allow_random: options.AllowRandom = False,
        onnx: options.Onnx = None,
        engine: options.Engine = None,
        device: options.Device = "cpu",
        precision: options.Precision = None,
        fp16: options.Fp16 = False,
        size: list[str] = typer.Option(["240x136"], help="LR input WIDTHxHEIGHT; repeat for several sizes."),
        input: Path = typer.Option(None, "--input", help="Time on this video/folder's frames instead of a "
                                   "synthetic panning photo (its size replaces --size)."),
        frames: int = typer.Option(30, help="Timed frames per size."),
        warmup: int = typer.Option(5, help="Untimed warm-up frames (kernel selection, allocator, caches)."),
        threads: options.Threads = None,
        layers: bool = typer.Option(False, "--layers", help="Per-layer times via TensorRT's IProfiler."),
        cuda_graph: options.CudaGraph = False,
        compile: options.Compile = False,
        channels_last: options.ChannelsLast = False,
        peak_tflops: float = typer.Option(None, help="Override the device peak (TFLOP/s) for the % of peak."),
        json_out: options.Json = None,
    ) -> None:
        """Warm up, then time N frames with synchronisation: latency percentiles, FPS, stage shares, memory,
        FLOPs vs device peak, power (NVML / jtop when installed)."""
        from edgevsr.backends.registry import runner_config
        from edgevsr.deploy.session import profile_session
        from edgevsr.io.atomic import check_output

        if json_out is not None:
            check_output(json_out, inputs=[input, onnx, engine], flag=None)
        cfg = runner_config(model=model, weights=weights, backend=backend, device=device,
                            precision=options.precision_from(precision, fp16=fp16), allow_random=allow_random,
                            onnx=onnx, engine=engine, threads=threads, compile=compile, channels_last=channels_last,
                            cuda_graph=cuda_graph, layer_timing=layers)
        result = profile_session(cfg, size, input, frames, warmup, peak_tflops,
                                 log=lambda line: console.print(line, markup=False, highlight=False))
        runs = result.runs
        for table in results_tables(runs):
            out.print(table)
        for run in runs:
            if run["layers"]:
                out.print(layers_table(run))
        for note in dict.fromkeys((r["power"] or {}).get("note") for r in runs):
            if note:
                console.print(f"power: {note}", markup=False, highlight=False)
        if not result.on_gpu:
            load, cpus = runs[-1]["environment"]["loadavg_after"][0], os.cpu_count() or 1
            busy = " (other work shared the CPU: figures are a lower bound)" if load > 0.75 * cpus else ""
            console.print(f"load average {load:.2f} on {cpus} CPUs during the run{busy}")
        if json_out is not None:
            from edgevsr.io.atomic import atomic_path

            with atomic_path(json_out) as tmp:
                tmp.write_text(json.dumps(result.to_dict(), indent=2))
            console.print(f"wrote {json_out}")
