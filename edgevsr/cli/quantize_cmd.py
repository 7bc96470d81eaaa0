"""`edgevsr quantize`: FP32 export, FP16, or calibrated INT8 with measured per-layer fallback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console
from edgevsr.errors import EdgeVSRError


def _size(new: str | None, old: str | None, name: str, old_name: str):
    """LR Size from ``--NAME WxH`` or the deprecated ``--OLD_NAME HxW``; '' = none."""
    from edgevsr.sizes import parse_legacy_hw, parse_size

    if new is not None and old is not None:
        raise EdgeVSRError(f"--{name} and --{old_name} (its deprecated HxW spelling) both given; use --{name} WxH")
    if old is not None:
        size = parse_legacy_hw(old, old_name) if old else None
        options.deprecated(f"--{old_name} HEIGHTxWIDTH", f"--{name} WIDTHxHEIGHT{f' ({size})' if size else ''}")
        return size
    return parse_size(new, name) if new else None


def _is_trt_cache(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"TRT-"
    except OSError:
        return False


def _print_report(r) -> None:
    from rich.table import Table

    t = Table(title=f"{r.output}: {r.precision}" + (f", {r.method} calibration, for {r.target}" if r.method else ""))
    t.add_column("layer group")
    t.add_column("precision (why)")
    for g, p in r.groups.items():
        t.add_row(g, p)
    console.print(t)
    if r.quality:
        q = Table(title="quality on the held-out clip (BD x4)")
        q.add_column("comparison")
        for m in ("psnr_y", "ssim_y", "lpips", "tof"):
            q.add_column(m)
        for name, vals in r.quality.items():
            q.add_row(name, *[f"{vals[m]:.4f}" if m in vals else "-" for m in ("psnr_y", "ssim_y", "lpips", "tof")])
        console.print(q)
        d = r.quality
        console.print(f"vs FP32 on GT: PSNR-Y {d['candidate vs gt']['psnr_y'] - d['fp32 vs gt']['psnr_y']:+.3f} dB, "
                      f"LPIPS {d['candidate vs gt']['lpips'] - d['fp32 vs gt']['lpips']:+.4f}")
    if r.psnr_vs_fp32_calib is not None:
        console.print(f"PSNR-Y vs the FP32 output on {r.calib_frames} LR frames run as deployed: "
                      f"{r.psnr_vs_fp32_calib:.2f} dB")
    mb = 1 / (1024 * 1024)
    console.print(f"file {r.file_size * mb:.2f} MiB (FP32 {r.fp32_size * mb:.2f} MiB)"
                  + (f"; calibration statistics {'from cache' if r.cache_used else 'computed'}" if r.method else ""))
    if r.speed:
        s = r.speed
        console.print(f"ONNX Runtime CPU at {s['shape']} (median of {s['runs']}, side by side): FP32 "
                      f"{s['fp32_s'] * 1000:.0f} ms, {r.precision} {s['candidate_s'] * 1000:.0f} ms -> "
                      f"{s['speedup']:.2f}x (fastest runs: {s['speedup_min']:.2f}x; CPU time, 1 thread: "
                      f"{s['speedup_cpu_1thread']:.2f}x)")
    if r.budget:
        console.print(f"budget {', '.join(f'{k}={v:g}' for k, v in r.budget.items())}: "
                      + ("met" if r.budget_met else "[bold red]NOT MET[/]"))
    for n in r.notes:
        console.print(f"[bold red]{n}[/]")


def register(app: typer.Typer) -> None:
    @app.command("quantize")
    def quantize(
        model: str = typer.Argument(..., help="Model name (see `edgevsr models`) or an FP32 edgevsr .onnx export."),
        output: Annotated[Path, options.output("Output .onnx (written atomically).")] = ...,
        weights: options.Weights = None,
        precision: options.Precision = None,
        int8: options.Int8 = False,
        fp16: options.Fp16 = False,
        calib: Path = typer.Option(None, help="Calibration video or frame folder (LR frames as deployed)."),
        calib_frames: int = typer.Option(16, help="Consecutive calibration frames used."),
        calib_size: str = typer.Option(None, help="Center-crop calibration frames to this LR WIDTHxHEIGHT."),
        calib_shape: str = typer.Option(None, help="Deprecated: --calib-size as HEIGHTxWIDTH."),
        method: str = typer.Option("entropy", help="Activation ranges: entropy | minmax | percentile."),
        percentile: float = typer.Option(99.99, help="Percentile for --method percentile."),
        target: str = typer.Option("tensorrt", help="tensorrt (symmetric INT8 Q/DQ that `edgevsr build` takes) | "
                                                    "onnxruntime (uint8 activations, fastest on x86 CPUs)."),
        size: str = typer.Option(None, help="Fixed LR input WIDTHxHEIGHT, e.g. 480x272 (default: dynamic H/W)."),
        shape: str = typer.Option(None, help="Deprecated: --size as 1x3xHEIGHTxWIDTH or HEIGHTxWIDTH."),
        min_psnr_vs_fp32: float = typer.Option(40.0, help="Budget: PSNR-Y of the output vs the FP32 output (dB)."),
        max_lpips_increase: float = typer.Option(None, help="Budget: LPIPS vs GT may rise by at most this (--gt)."),
        max_psnr_drop: float = typer.Option(None, help="Budget: PSNR-Y vs GT may drop by at most this (--gt)."),
        gt: Path = typer.Option(None, help="Held-out HR clip (video/folder): quality vs ground truth (BD x4)."),
        gt_frames: int = typer.Option(8, help="Frames of the --gt clip used."),
        search: bool = typer.Option(True, help="Measure sensitivity and search the float fallback "
                                               "(--no-search: keep the default float groups)."),
        all_int8: bool = typer.Option(False, "--all-int8", help="With --precision int8: every layer INT8, no float "
                                      "fallback at all (no search, no default float groups; DLA-only graphs)."),
        cache: Path = typer.Option(None, help="Calibration statistics cache (.npz; default: OUTPUT.calib.npz)."),
        trt_cache: Path = typer.Option(None, help="Also write a TensorRT <= 10 calibration cache here."),
        trt_version: str = typer.Option("10.3.0", help="TensorRT version in the cache header (JetPack 6.1: 10.3.0)."),
        speed_size: str = typer.Option(None, help="LR WIDTHxHEIGHT for the side-by-side ORT CPU timing "
                                                  "(default 480x272; '' = skip)."),
        speed_shape: str = typer.Option(None, help="Deprecated: --speed-size as HEIGHTxWIDTH."),
        speed_runs: int = typer.Option(5, help="Timed runs per model."),
        json_out: options.Json = None,
        report: Path = typer.Option(None, hidden=True, help="Deprecated: --json."),
    ) -> None:
        """Export to ONNX; with --precision fp16 or int8 also convert/quantize, check quality, time it against FP32.

        fp16 keeps the warp grid, flow scaling and skip in FP32; int8 is calibrated Q/DQ with a measured float
        fallback."""
        fixed = _size(size, shape, "size", "shape")
        calib_wh = _size(calib_size, calib_shape, "calib-size", "calib-shape")
        speed_wh = _size("480x272" if speed_size is None and speed_shape is None else speed_size, speed_shape,
                         "speed-size", "speed-shape")
        precision = options.precision_from(precision, fp16=fp16, int8=int8) or "fp32"
        if report is not None:
            options.deprecated("--report", "--json")
            json_out = json_out or report
        if output.suffix != ".onnx":
            raise EdgeVSRError(f"{output}: output must be a .onnx file")
        from edgevsr.io.atomic import check_output

        inputs = [model if model.endswith(".onnx") else None, calib, gt, weights]
        from edgevsr.io.atomic import check_distinct

        check_distinct(output, json_out, trt_cache, cache)
        for written in (output, json_out, trt_cache):
            if written is not None:  # a TensorRT calibration cache is rewritten; any other existing file is kept
                check_output(written, inputs=inputs, flag=None,
                             existing_file_ok=written is trt_cache and _is_trt_cache(Path(written)))
        from edgevsr.quality.gate import QualityBudget
        from edgevsr.quantize.entry import quantize as quantize_to

        if all_int8 and precision != "int8":
            raise EdgeVSRError("--all-int8 needs --precision int8")
        budget = QualityBudget(min_psnr_vs_ref=min_psnr_vs_fp32, max_lpips_increase=max_lpips_increase,
                               max_psnr_drop=max_psnr_drop)
        t0 = time.perf_counter()
        with console.status("exporting the FP32 reference") as status:
            def step(msg: str) -> None:
                if precision != "fp32":
                    console.print(f"[dim]{time.perf_counter() - t0:6.1f}s[/] {msg}", highlight=False)
                status.update(msg)

            r = quantize_to(model, output, precision=precision, weights=weights, calib=calib,
                            calib_frames=calib_frames, calib_size=calib_wh, size=fixed, method=method,
                            percentile=percentile, target=target, budget=budget, gt=gt, gt_frames=gt_frames,
                            search=search, cache=cache, trt_cache=trt_cache, trt_version=trt_version,
                            speed_size=speed_wh, speed_runs=speed_runs, float_fallback=not all_int8, status=step)
        if precision == "fp32":
            _print_export(r)
            return
        _print_report(r)
        if json_out:
            from edgevsr.io.atomic import atomic_path

            with atomic_path(json_out) as tmp:
                tmp.write_text(json.dumps(r.to_dict(), indent=2))
        if r.budget_met is False:
            raise typer.Exit(1)


def _print_export(r) -> None:
    e = r.export
    console.print(f"wrote {r.output}: {e['model']} x{e['scale']}, {'dynamic H/W' if e['dynamic'] else 'fixed shape'}, "
                  f"opset {e['opset']}, weights {e['weights_hash']}")
    if "max_abs_error_vs_torch" in e:
        console.print(f"ONNX Runtime vs PyTorch on {r.calib_frames} real steps: max abs error "
                      f"{e['max_abs_error_vs_torch']:.2e}")
