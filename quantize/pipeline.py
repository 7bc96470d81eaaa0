"""The one quantize entry point: export, convert to FP16 / INT8 under a quality budget, measure, write.

:func:`quantize_model` is what ``edgevsr quantize``, the report and the Python API
call (in the spirit of ``onnxruntime.quantization.quantize_static``). Plain export
is precision ``fp32``; ``int8`` calibrates on a :class:`CalibrationDataReader` and,
with ``search``, measures each layer group's sensitivity and keeps in float what
the budget needs (``search=False`` keeps the default float groups, or none with
``keep_default_float=False``: every group INT8). Quality is measured against the
FP32 model (calibration frames, recurrent, as deployed) and, with ``gt``, against
ground truth on a held-out clip (degraded BD x4 to make its LR input); speed is
ONNX Runtime CPU, both models side by side.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edgevsr.calibration.reader import CalibrationDataReader, ClipReader, read_calib_frames, read_steps
from edgevsr.errors import EdgeVSRError
from edgevsr.quality.gate import QualityBudget
from edgevsr.quantize import export as X
from edgevsr.quantize.candidates import Int8Candidates, Int8Search, Pairs, QualityJudge
from edgevsr.quantize.reference import is_onnx_file, load_reference, metadata, write_proto

Status = Callable[[str], None]
PRECISIONS = ("fp32", "fp16", "int8")
# the reference is the FP32 model: --min-psnr-vs-fp32 is min_psnr_vs_ref (PSNR-Y on the calibration frames)
DEFAULT_BUDGET = QualityBudget(min_psnr_vs_ref=40.0)


@dataclass
class QuantizeOptions:
    """How to calibrate, search and measure (what to make is :func:`quantize_model`'s arguments)."""

    calib_frames: int = 16  # frames read when ``calibration`` is a path
    calib_shape: tuple[int, int] | None = None  # crop calibration frames (dynamic export)
    method: str = "entropy"
    percentile: float = 99.99
    target: str = "tensorrt"  # the Q/DQ form `edgevsr build` takes; "onnxruntime" for CPU deployment
    shape: tuple[int, int] | None = None  # fixed export shape (LR h, w); also crops calibration frames
    gt: Path | None = None  # held-out HR clip (video / folder) for quality vs ground truth
    gt_frames: int = 8
    sensitivity_steps: int = 4
    keep_default_float: bool = True  # without search: False puts every layer group in INT8
    cache: Path | None = None
    trt_cache: Path | None = None
    trt_version: str = "10.3.0"
    speed_shape: tuple[int, int] | None = (272, 480)
    speed_runs: int = 5
    fp16_floats: bool = False  # target tensorrt: the INT8 form on the FP16 graph (int8_fp16; TensorRT 10+)
    picture_range: bool = True  # declared picture inputs at [0, 1] (the contract); False only to measure the rule

    def __post_init__(self) -> None:
        import edgevsr.checks as checks

        checks.count(self.calib_frames, "--calib-frames")
        checks.count(self.gt_frames, "--gt-frames", minimum=2)
        checks.count(self.speed_runs, "--speed-runs")


@dataclass
class QuantizeReport:
    output: str
    precision: str
    method: str | None
    target: str | None
    file_size: int
    fp32_size: int
    groups: dict[str, str] = field(default_factory=dict)  # group -> "int8" | "fp16" | "fp32 (reason)"
    calib_frames: int = 0
    cache_used: bool = False
    budget: dict[str, float] = field(default_factory=dict)
    budget_met: bool | None = None
    psnr_vs_fp32_calib: float | None = None
    quality: dict[str, dict[str, float]] = field(default_factory=dict)  # "fp32 vs gt", "candidate vs gt", ...
    speed: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    export: dict = field(default_factory=dict)  # plain export: opset, dynamic H/W, weights hash, error vs torch

    def to_dict(self) -> dict:
        return asdict(self)


def _validate(precision: str, calibration, budget: QualityBudget, o: QuantizeOptions) -> None:
    from edgevsr.calibration.calibrators import METHODS
    from edgevsr.quantize.int8 import TARGETS

    if precision not in PRECISIONS:
        raise EdgeVSRError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if o.method not in METHODS:
        raise EdgeVSRError(f"--method {o.method!r}: choose one of {', '.join(METHODS)}")
    if o.target not in TARGETS:
        raise EdgeVSRError(f"--target {o.target!r}: choose one of {', '.join(TARGETS)}")
    if calibration is None and precision == "int8":
        raise EdgeVSRError("--int8 needs calibration frames: --calib VIDEO_OR_FOLDER")
    unmeasured = [k for k in budget.given() if k in ("max_lpips_vs_ref", "max_tlp_increase")]
    if unmeasured:
        raise EdgeVSRError(f"budget {', '.join(unmeasured)}: quantize does not measure it")
    if budget.needs_gt() and o.gt is None:
        raise EdgeVSRError("--max-lpips-increase / --max-psnr-drop are measured against ground truth: "
                           "give a held-out clip with --gt")
    if not 0 < o.percentile <= 100:
        raise EdgeVSRError(f"--percentile {o.percentile}: must be in (0, 100]")
    if o.gt is not None and not Path(o.gt).exists():
        raise EdgeVSRError(f"{o.gt}: no such file or folder (--gt)")


def gt_pairs(path: Path, frames: int, shape: tuple[int, int] | None, scale: int) -> Pairs:
    """(LR frames made by BD x4 degradation, GT frames cropped to 4 x LR) of a held-out clip."""
    from edgevsr.quality.paired import PairedClip

    s = scale
    gt = read_calib_frames(path, frames, None, min_frames=2)
    size = None
    if shape:
        h, w = shape
        if gt[0].shape[0] < h * s or gt[0].shape[1] < w * s:
            raise EdgeVSRError(f"{path}: GT frames smaller than {w * s}x{h * s} (--shape x{s})")
        size = (w * s, h * s)
    clip = PairedClip.from_frames(Path(path).stem, gt, "BD", s, size)
    return clip.lr, clip.gt


def quantize_model(model: str, output: str | Path, precision: str = "fp32", *, weights: str | None = None,
                   calibration: CalibrationDataReader | str | Path | None = None,
                   budget: QualityBudget | None = None, search: bool = True,
                   options: QuantizeOptions | None = None, status: Status | None = None,
                   allow_random: bool = False) -> QuantizeReport:
    """Make ``output`` (.onnx, written atomically) from ``model`` (a zoo name or an FP32 edgevsr export).

    ``calibration``: a reader (e.g. :class:`ClipReader`) or a video / frame folder of LR frames as deployed.
    ``budget``: how far the result may move from FP32 (default: PSNR-Y >= 40 dB vs the FP32 output).
    Returns what was made and measured; ``report.budget_met`` is False when no mix met the budget.
    """
    from edgevsr.io.atomic import check_writable

    o = options or QuantizeOptions()
    budget = budget or DEFAULT_BUDGET
    say = status or (lambda _msg: None)
    _validate(precision, calibration, budget, o)
    output = Path(output)
    check_writable(output)
    if o.shape is None and is_onnx_file(model) and precision != "fp32":
        X.read_metadata(model)  # one-line error for a file that is not an edgevsr export
        o = replace(o, shape=X.fixed_lr_shape(model))  # a fixed-shape export only takes frames of its size
    if isinstance(calibration, (str, Path)):  # bad data fails here, in one line, before the (slow) export
        calibration = ClipReader.from_path(calibration, o.calib_frames, o.shape or o.calib_shape)
    if precision == "fp32":
        return _export(model, weights, output, o.shape, calibration, say, allow_random)
    proto, spec, source = load_reference(model, weights, o.shape, allow_random)
    with tempfile.TemporaryDirectory(prefix="edgevsr-quantize-") as tmp:
        ref_path = write_proto(proto, Path(tmp) / "fp32.onnx")
        steps = _steps(calibration, ref_path)
        frames = getattr(calibration, "frames", None)
        pairs = gt_pairs(o.gt, o.gt_frames, o.shape, spec.scale) if o.gt else None
        if frames is None and pairs is not None:  # FP16 without calibration data: quality on the GT clip
            frames = pairs[0]
        judge = QualityJudge(ref_path, budget, frames, (steps or [])[: max(1, o.sensitivity_steps)], pairs)
        report = QuantizeReport(str(output), precision, None, None, 0, ref_path.stat().st_size,
                                calib_frames=len(frames or steps or []))
        if precision == "fp16":
            final, made = _fp16(proto, report, say)
        else:
            report.budget = budget.named_for("fp32")
            final, made = _int8(proto, steps, judge, search, o, report, Path(tmp), source, say)
        meta = metadata(proto)
        meta[X.PRECISION_KEY] = made
        meta["edgevsr.quantization"] = json.dumps({"precision": made, "method": report.method,
                                                   "target": report.target, "groups": report.groups,
                                                   "budget": report.budget, "budget_met": report.budget_met})
        X.set_metadata(final, meta)
        report.precision = made
        cand_path = X.save_onnx(final, Path(tmp) / "candidate.onnx")
        if frames:
            say("measuring quality vs FP32 on the calibration frames")
            report.psnr_vs_fp32_calib = judge.psnr_vs_fp32(cand_path)
        if pairs is not None:
            say("measuring quality vs ground truth on the held-out clip")
            report.quality = judge.vs_gt(cand_path)
        if o.speed_shape:
            from edgevsr.quantize.measure import speed_side_by_side

            shape = o.shape or o.speed_shape
            say(f"timing ONNX Runtime CPU, FP32 and {made} side by side at {shape[1]}x{shape[0]}")
            report.speed = speed_side_by_side(ref_path, cand_path, spec, shape, o.speed_runs)
        X.save_onnx(final, output)
    report.file_size = output.stat().st_size
    return report


def _steps(calibration, ref_path: Path) -> list[tuple[np.ndarray, ...]] | None:
    """The calibration data as step tuples of the FP32 graph (a clip reader records them on that graph)."""
    if calibration is None:
        return None
    if hasattr(calibration, "bind"):
        return calibration.bind(ref_path).steps
    from edgevsr.quantize.measure import session

    return read_steps(calibration, [i.name for i in session(ref_path).get_inputs()])


def _export(model: str, weights: str | None, output: Path, shape, calibration, say: Status,
            allow_random: bool) -> QuantizeReport:
    """Plain FP32 export; with calibration data, ONNX Runtime vs PyTorch on its real steps."""
    from edgevsr.weights import load_model

    net, source = load_model(model, weights, allow_random=allow_random)
    say(f"exporting {model} ({source})")
    info = X.export_onnx(net, model, output, shape)
    size = output.stat().st_size
    report = QuantizeReport(str(output), "fp32", None, None, size, size,
                            export={"model": model, "scale": net.scale, "source": source, "dynamic": info.dynamic,
                                    "opset": info.opset, "weights_hash": info.weights_hash})
    if calibration is not None:
        steps = _steps(calibration, output)
        report.calib_frames = len(steps)
        report.export["max_abs_error_vs_torch"] = X.compare_with_torch(net, output, steps)
    return report


def _fp16(proto, report: QuantizeReport, say: Status):
    from edgevsr.quantize.fp16 import convert_fp16, fp16_nodes
    from edgevsr.quantize.int8 import layer_groups

    say("converting to FP16")
    half = fp16_nodes(proto)
    final = convert_fp16(proto)
    for g, grp in layer_groups(proto).items():
        report.groups[g] = "fp16" if any(n in half for n in grp.nodes) else "fp32"
    report.groups["(warp, flow scaling, skip, output)"] = "fp32 (block list)"
    return final, "fp16"


def _int8(proto, steps, judge: QualityJudge, search: bool, o: QuantizeOptions, report: QuantizeReport,
          workdir: Path, source: str, say: Status):
    from edgevsr.calibration.calibrators import cached_stats
    from edgevsr.quantize.int8 import FLOAT_NODES_KEY, default_float_groups, float_decisions, layer_groups
    from edgevsr.quantize.sensitivity import MixedPrecisionPlan, measure_sensitivity, plan_mixed_precision

    report.method, report.target = o.method, o.target
    say(f"collecting activation statistics ({len(steps)} steps, 2 passes)")
    stats, report.cache_used = cached_stats(proto, steps, o.cache)
    ranges = stats.ranges(o.method, o.percentile)
    if o.picture_range:  # the picture inputs' [0, 1] is the model's contract, not a calibration result
        from edgevsr.quantize.int8 import contract_ranges

        ranges = contract_ranges(proto, ranges)
    groups = layer_groups(proto)
    names = list(groups)
    if not names:
        raise EdgeVSRError(f"{source}: no convolution layer groups found to quantize")
    defaults = default_float_groups(proto, groups) if search or o.keep_default_float else {}
    trials = Int8Search(Int8Candidates(proto, ranges, o.target, workdir), judge)
    if search:
        say(f"sensitivity: each of {len(names)} layer groups alone in INT8")
        sensitivity = measure_sensitivity(names, trials.score, lambda g: say(f"sensitivity: {g}"))
        plan = plan_mixed_precision(names, defaults, sensitivity, trials.check, on_trial=say)
    else:
        plan = MixedPrecisionPlan(names, {g: f"default: {r}" for g, r in defaults.items()}, {},
                                  {g: float("nan") for g in names})
        plan.passed = trials.check(frozenset(plan.float_groups))[0]
    for g in plan.groups:
        report.groups[g] = f"fp32 ({plan.float_groups[g]})" if g in plan.float_groups else (
            "int8" + (f" ({plan.int8_notes[g]})" if g in plan.int8_notes else ""))
    report.budget_met = plan.passed
    if not plan.passed:
        report.notes.append("QUALITY BUDGET NOT MET: kept the best model found (most groups in float "
                            "the search allows); it is labelled so in its metadata")
    final = trials.candidates.model(frozenset(plan.float_groups))
    float_nodes, int8_tensors = float_decisions(proto, frozenset(plan.float_groups))
    X.set_metadata(final, {FLOAT_NODES_KEY: json.dumps(float_nodes)})
    if o.fp16_floats and o.target == "tensorrt":
        from edgevsr.quantize.int8_fp16 import FP16_FLOATS_KEY, int8_on_fp16

        final = int8_on_fp16(final, proto)
        X.set_metadata(final, {FP16_FLOATS_KEY: "fp16"})
        report.notes.append("float parts in FP16 (INT8 form on the FP16 graph, opset 19): TensorRT 10+ only")
    if o.trt_cache:  # implicit TensorRT path: scales only where the plan runs INT8, the float layers listed
        from edgevsr.calibration.trt_cache import write_cache

        write_cache(o.trt_cache, {k: max(abs(lo), abs(hi)) for k, (lo, hi) in ranges.items() if k in int8_tensors},
                    o.trt_version, float_nodes)
    return final, "mixed" if plan.float_groups else "int8"
