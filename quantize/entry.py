"""``edgevsr.quantize(model, output, precision=...)``: :func:`edgevsr.quantize.pipeline.quantize_model`
(the stage's one entry point, which the CLI calls) with its options as keywords.

``precision="fp32"`` is the plain ONNX export; ``"fp16"`` and ``"int8"`` convert or calibrate, measure quality
against FP32 (and ground truth with ``gt``) and time both side by side. Sizes are WIDTHxHEIGHT (``"480x272"``,
a :class:`~edgevsr.sizes.Size` or a (width, height) tuple); QuantizeOptions keeps array order (h, w).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError
from edgevsr.sizes import Size, parse_size

if TYPE_CHECKING:
    from edgevsr.quality.gate import QualityBudget

SizeLike = str | Size | tuple[int, int]


def _hw(value: SizeLike | None, option: str) -> tuple[int, int] | None:
    return parse_size(value, option).hw if value not in (None, "") else None


def quantize(model: str, output: str | Path, *, precision: str = "fp32", weights: str | None = None,
             calib: str | Path | None = None, calib_frames: int = 16, calib_size: SizeLike | None = None,
             size: SizeLike | None = None, method: str = "entropy", percentile: float = 99.99,
             target: str = "tensorrt", budget: QualityBudget | None = None, gt: str | Path | None = None,
             gt_frames: int = 8, search: bool = True, cache: str | Path | None = None,
             trt_cache: str | Path | None = None, trt_version: str = "10.3.0",
             speed_size: SizeLike | None = "480x272", speed_runs: int = 5, allow_random: bool = False,
             float_fallback: bool = True, status=None):
    """Write ``output`` (.onnx) at ``precision``; returns the QuantizeReport (``export`` filled for fp32).

    The one place QuantizeOptions are made from user-facing values: `edgevsr quantize` calls this too.

    ``model`` is a zoo name or an FP32 edgevsr .onnx export; ``status`` gets one line per step. ``budget``
    (default: PSNR-Y >= 40 dB vs the FP32 output) is checked; limits vs ground truth need ``gt``. The
    report's ``budget_met`` is False when the budget was not met (the model is still written).
    ``float_fallback=False``: every layer INT8 (no search, no default float groups), as a DLA-only graph needs.
    """
    from edgevsr.io.atomic import check_output
    from edgevsr.quantize.pipeline import QuantizeOptions, quantize_model

    output = Path(output)
    if output.suffix != ".onnx":
        raise EdgeVSRError(f"{output}: output must be a .onnx file")
    check_output(output, inputs=[model if str(model).endswith(".onnx") else None, calib, gt, weights], flag=None)
    opts = QuantizeOptions(
        calib_frames=calib_frames if precision != "fp32" else 4, calib_shape=_hw(calib_size, "calib-size"),
        method=method, percentile=percentile, target=target, shape=_hw(size, "size"), gt=Path(gt) if gt else None,
        gt_frames=gt_frames, cache=Path(cache) if cache else output.with_name(output.stem + ".calib.npz"),
        trt_cache=Path(trt_cache) if trt_cache else None, trt_version=trt_version,
        speed_shape=_hw(speed_size, "speed-size"), speed_runs=speed_runs, keep_default_float=float_fallback)
    cache_existed = opts.cache.exists()
    try:
        return quantize_model(model, output, precision, weights=weights, calibration=calib, budget=budget,
                              search=search and float_fallback, options=opts, status=status,
                              allow_random=allow_random)
    except BaseException:
        if not cache_existed:  # a failed run leaves nothing behind (its statistics cache included)
            opts.cache.unlink(missing_ok=True)
        raise
