"""``edgevsr.quantize(model, output, precision=...)``: the quantize stage's one call, for the CLI and the API.

``precision="fp32"`` is the plain ONNX export; ``"fp16"`` and ``"int8"`` run :class:`QuantizePipeline`
(export, convert or calibrate, quality against FP32 and optionally ground truth, side-by-side speed).
Sizes are WIDTHxHEIGHT (``"480x272"``, a :class:`~edgevsr.sizes.Size` or a (width, height) tuple).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError
from edgevsr.sizes import Size, parse_size

if TYPE_CHECKING:
    from edgevsr.quality.gate import QualityBudget

SizeLike = str | Size | tuple[int, int]
PRECISIONS = ("fp32", "fp16", "int8")


def _hw(value: SizeLike | None, option: str) -> tuple[int, int] | None:
    return parse_size(value, option).hw if value not in (None, "") else None


def quantize(model: str, output: str | Path, *, precision: str = "fp32", weights: str | None = None,
             calib: str | Path | None = None, calib_frames: int = 16, calib_size: SizeLike | None = None,
             size: SizeLike | None = None, method: str = "entropy", percentile: float = 99.99,
             target: str = "onnxruntime", budget: QualityBudget | None = None, gt: str | Path | None = None,
             gt_frames: int = 8, search: bool = True, cache: str | Path | None = None,
             trt_cache: str | Path | None = None, trt_version: str = "10.3.0",
             speed_size: SizeLike | None = "480x272", speed_runs: int = 5, allow_random: bool = False,
             status=None):
    """Write ``output`` (.onnx) at ``precision``; returns the ExportInfo (fp32) or the QuantizeReport.

    ``model`` is a zoo name or an FP32 edgevsr .onnx export; ``status`` gets one line per step. ``budget``
    (default: PSNR-Y >= 40 dB vs the FP32 output) is checked; limits vs ground truth need ``gt``. The
    report's ``budget_met`` is False when the budget was not met (the model is still written).
    """
    output = Path(output)
    if precision not in PRECISIONS:
        raise EdgeVSRError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if output.suffix != ".onnx":
        raise EdgeVSRError(f"{output}: output must be a .onnx file")
    shape = _hw(size, "size")
    if precision == "fp32":
        from edgevsr.quantize.export import export_onnx
        from edgevsr.weights import load_model

        net, source = load_model(model, weights, allow_random=allow_random)
        if status is not None:
            status(f"exporting {model} ({source})")
        return export_onnx(net, model, output, shape)
    from edgevsr.quantize.pipeline import QuantizeOptions, QuantizePipeline

    opts = QuantizeOptions(
        precision=precision, calib=Path(calib) if calib else None, calib_frames=calib_frames,
        calib_shape=_hw(calib_size, "calib-size"), method=method, percentile=percentile, target=target, shape=shape,
        gt=Path(gt) if gt else None, gt_frames=gt_frames, search=search,
        cache=Path(cache) if cache else output.with_name(output.stem + ".calib.npz"),
        trt_cache=Path(trt_cache) if trt_cache else None, trt_version=trt_version,
        speed_shape=_hw(speed_size, "speed-size"), speed_runs=speed_runs)
    if budget is not None:
        opts.budget = budget
    pipe = QuantizePipeline(model, weights, opts, status, allow_random=allow_random)
    try:
        return pipe.run(output)
    finally:
        pipe.close()
