"""`edgevsr build`: a TensorRT engine (plus provenance sidecar) from an edgevsr ONNX export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console
from edgevsr.sizes import ENGINE_PROFILE, fmt_size


def register(app: typer.Typer) -> None:
    @app.command("build")
    def build(
        onnx: Path = typer.Argument(..., help="ONNX export (`edgevsr quantize`): FP32, FP16 or INT8 Q/DQ."),
        output: Annotated[Path | None, options.output("Engine file (default: the engine cache).")] = None,
        precision: options.Precision = None,
        path: str = typer.Option("auto", help="auto | explicit (strongly typed, TRT 10+) | implicit (flags, TRT<=10)."),
        min: str = typer.Option(fmt_size(ENGINE_PROFILE[0]), "--min", help="Smallest padded LR input WIDTHxHEIGHT."),
        opt: str = typer.Option(fmt_size(ENGINE_PROFILE[1]), "--opt", help="LR input size to tune kernels for."),
        max: str = typer.Option(fmt_size(ENGINE_PROFILE[2]), "--max", help="Largest padded LR input WIDTHxHEIGHT."),
        workspace: int = typer.Option(4096, help="Builder workspace limit, MiB."),
        calibration_cache: Path = typer.Option(None, help="INT8 calibration cache (implicit INT8 path)."),
        timing_cache: Path = typer.Option(None, help="Timing cache file (default: one per GPU + TensorRT version)."),
        dla_core: int = typer.Option(None, help="Jetson: build for this DLA core, GPU fallback (GridSample on GPU)."),
        opt_level: int = typer.Option(None, help="Builder optimization level 0..5."),
        cache_dir: Path = typer.Option(None, help="Engine cache folder (default: $EDGEVSR_CACHE/engines)."),
        force: bool = typer.Option(False, "--force", help="Rebuild even if an identical engine exists."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Only show the build plan (no TensorRT needed "
                                     "with --trt-version)."),
        trt_version: str = typer.Option(None, help="With --dry-run / --check: plan for this TensorRT version."),
        check: bool = typer.Option(False, "--check", help="No GPU needed: per node, what TensorRT will do (precisions, "
                                   "DLA eligibility, unsupported patterns); exit 2 with one line if it would refuse."),
        dla: bool = typer.Option(False, "--dla", help="With --check: check for the DLA (as --dla-core 0)."),
    ) -> None:
        """Build a TensorRT engine: explicit (Q/DQ / FP16 ONNX) or implicit (flags + calibration cache) precision,
        shape profile, timing cache, DLA; reused while nothing in its provenance changed."""
        from edgevsr.api import build_options
        from edgevsr.deploy.provenance import EngineCache
        from edgevsr.deploy.trt_builder import build_engine
        from edgevsr.deploy.trt_plan import plan_build

        if check:
            _check(onnx, trt_version, dla, precision, calibration_cache)
            return
        if output is not None:
            from edgevsr.backends.tensorrt.engine_record import sidecar_path
            from edgevsr.io.atomic import check_output

            # an engine edgevsr built (its provenance sidecar beside it) is reused or rebuilt; any other file is kept
            check_output(output, inputs=[onnx, calibration_cache, timing_cache], flag=None,
                         existing_file_ok=sidecar_path(Path(output)).exists())
        facts, opts = build_options(onnx, precision=precision, path=path, min=min, opt=opt, max=max,
                                    workspace_mib=workspace, calibration_cache=calibration_cache,
                                    timing_cache=timing_cache, dla_core=dla_core, opt_level=opt_level)
        if dry_run:
            if trt_version is None:
                from edgevsr.backends.tensorrt.runner import require_tensorrt

                trt_version = require_tensorrt("--dry-run without --trt-version").__version__
            plan = plan_build(trt_version, facts, opts)
            console.print(f"{onnx} ({facts.spec.name}, ONNX {facts.precision}) with TensorRT {trt_version}: "
                          f"{plan.summary()}", markup=False)
            console.print(f"  shape profile {opts.profile.describe()}", markup=False)
            for note in plan.notes:
                console.print(f"  - {note}", markup=False)
            return
        result = build_engine(onnx, output, opts, cache=EngineCache(cache_dir) if cache_dir else None, force=force,
                              log=lambda msg: console.print(msg, markup=False))
        if not result.reused:
            console.print(f"wrote {result.engine} ({result.engine.stat().st_size / 2**20:.1f} MiB) in "
                          f"{result.seconds:.0f} s; provenance in {result.engine.name}.json", markup=False)
        print(result.engine)


def _check(onnx: Path, trt_version: str | None, dla: bool, precision: str | None, calibration_cache: Path | None):
    from rich.table import Table

    from edgevsr.deploy.trt_check import check_onnx
    from edgevsr.errors import EdgeVSRError

    if trt_version is None:
        import importlib.util

        if importlib.util.find_spec("tensorrt") is not None:
            import tensorrt

            trt_version = tensorrt.__version__
        else:
            trt_version = "10.3"  # JetPack 6.1/6.2
    r = check_onnx(onnx, trt_version, dla, precision, calibration_cache)
    t = Table(title=f"{onnx} ({r.precision}) on TensorRT {trt_version}{' with DLA' if dla else ''}")
    for col in ("node", "op", "precision TensorRT can give it", "DLA", "problem"):
        t.add_column(col)
    for n in r.nodes:
        t.add_row(n.name, n.op, n.precisions, n.dla, "; ".join(n.problems))
    console.print(t)
    for note in r.notes:
        console.print(f"  - {note}", markup=False)
    if not r.ok:
        raise EdgeVSRError(r.refusal)
    console.print(f"ok: TensorRT {trt_version} builds it: {r.plan_summary}", markup=False)
