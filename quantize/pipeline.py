"""`edgevsr quantize` end to end: export, calibrate on real frames, search the precision mix, check, report.

FP32 reference -> (FP16 | INT8 Q/DQ with sensitivity-driven float fallback) ->
quality measured against the FP32 model (calibration frames, recurrent, as
deployed) and, with ``gt``, against ground truth on a held-out clip (degraded
BD x4 to make its LR input) -> ONNX Runtime CPU speed of both models side by side.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.calibration.calib_data import read_calib_frames, record_steps
from edgevsr.calibration.calibrators import METHODS, cached_stats
from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec
from edgevsr.quality import metrics as M
from edgevsr.quality.gate import QualityBudget
from edgevsr.quantize import export as X
from edgevsr.quantize.int8 import (
    FLOAT_NODES_KEY,
    TARGETS,
    default_float_groups,
    float_decisions,
    layer_groups,
    quantize_qdq,
)
from edgevsr.quantize.sensitivity import MixedPrecisionPlan, measure_sensitivity, plan_mixed_precision

Status = Callable[[str], None]
PSNR_CAP = 100.0  # identical frames


@dataclass
class QuantizeOptions:
    precision: str = "int8"  # int8 | fp16
    calib: Path | None = None
    calib_frames: int = 16
    method: str = "entropy"
    percentile: float = 99.99
    target: str = TARGETS[0]  # tensorrt
    shape: tuple[int, int] | None = None  # fixed export shape (LR h, w); also crops calibration frames
    calib_shape: tuple[int, int] | None = None  # crop calibration frames (dynamic export)
    # the reference is the FP32 model: --min-psnr-vs-fp32 is min_psnr_vs_ref (PSNR-Y on the calibration frames)
    budget: QualityBudget = field(default_factory=lambda: QualityBudget(min_psnr_vs_ref=40.0))
    gt: Path | None = None  # held-out HR clip (video / folder) for quality vs ground truth
    gt_frames: int = 8
    sensitivity_steps: int = 4
    search: bool = True  # False: keep exactly the default float groups
    cache: Path | None = None
    trt_cache: Path | None = None
    trt_version: str = "10.3.0"
    speed_shape: tuple[int, int] | None = (272, 480)
    speed_runs: int = 5

    def validate(self) -> None:
        if self.precision not in ("int8", "fp16"):
            raise EdgeVSRError(f"precision {self.precision!r}: choose --int8 or --fp16")
        if self.method not in METHODS:
            raise EdgeVSRError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.target not in TARGETS:
            raise EdgeVSRError(f"--target {self.target!r}: choose one of {', '.join(TARGETS)}")
        if self.calib is None and self.precision == "int8":
            raise EdgeVSRError("--int8 needs calibration frames: --calib VIDEO_OR_FOLDER")
        unmeasured = [k for k in self.budget.given() if k in ("max_lpips_vs_ref", "max_tlp_increase")]
        if unmeasured:
            raise EdgeVSRError(f"budget {', '.join(unmeasured)}: quantize does not measure it")
        if self.budget.needs_gt() and self.gt is None:
            raise EdgeVSRError("--max-lpips-increase / --max-psnr-drop are measured against ground truth: "
                               "give a held-out clip with --gt")
        if not 0 < self.percentile <= 100:
            raise EdgeVSRError(f"--percentile {self.percentile}: must be in (0, 100]")


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

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------------ helpers
def load_reference(model: str, weights: str | None, shape, allow_random: bool = False):
    """(FP32 ONNX proto with edgevsr metadata, spec, where the weights came from)."""
    import onnx

    if model.endswith(".onnx") or Path(model).is_file():
        meta = X.read_metadata(model)
        if meta.get(X.PRECISION_KEY, "fp32") != "fp32":
            raise EdgeVSRError(f"{model}: already {meta[X.PRECISION_KEY]}; quantize starts from an FP32 export")
        proto = onnx.load(model)
        return proto, ModelSpec.from_dict(json.loads(meta[X.SPEC_KEY])), f"{model} ({meta.get('edgevsr.model')})"
    from edgevsr.quantize.optimize import resize_to_conv
    from edgevsr.weights import load_model

    net, source = load_model(model, weights, allow_random=allow_random)
    proto, _ = resize_to_conv(X.to_onnx(net, shape))
    X.set_metadata(proto, X.edgevsr_metadata(net, model, "fp32"))
    proto.producer_name = "edgevsr"
    return proto, ModelSpec.of(net, model), source


def _write(proto, path: Path) -> Path:
    import onnx

    onnx.save(proto, str(path))
    return path


def _session(path: Path, threads: int = 0):
    from edgevsr.backends.onnxruntime.loader import make_session

    return make_session(path, threads=threads)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x[0], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def _psnr_y(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    vals = [min(M.psnr(x, y, "y"), PSNR_CAP) for x, y in zip(a, b, strict=True)]
    return float(np.mean(vals))


def upscale_frames(path: Path, frames: list[np.ndarray]) -> list[np.ndarray]:
    """HR frames of an ONNX model run as deployed (FrameUpscaler over OnnxRuntimeRunner)."""
    from edgevsr.stream import FrameUpscaler

    with OnnxRuntimeRunner(path) as runner:
        return list(FrameUpscaler(runner).run(frames))


def speed_side_by_side(ref: Path, cand: Path, spec: ModelSpec, shape: tuple[int, int], runs: int) -> dict:
    """Median seconds per step of both models, alternating runs in one process (same load, same inputs)."""
    h, w = shape
    rng = np.random.default_rng(0)
    s = spec.scale
    if spec.kind == "recurrent":
        inputs = [rng.random((1, 3, h, w), np.float32), rng.random((1, 3, h, w), np.float32),
                  rng.random((1, 3, h * s, w * s), np.float32)]
    else:
        inputs = [rng.random((1, 3 * spec.window, h, w), np.float32)]
    sessions = {"fp32": _session(ref), "candidate": _session(cand)}
    feeds = {k: dict(zip([i.name for i in v.get_inputs()], inputs)) for k, v in sessions.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for k, sess in sessions.items():
        sess.run(None, feeds[k])  # warm-up
    for _ in range(runs):
        for k, sess in sessions.items():
            t0 = time.perf_counter()
            sess.run(None, feeds[k])
            times[k].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    best = {k: float(np.min(v)) for k, v in times.items()}  # least disturbed by other load on the machine
    # CPU seconds of one thread: what each step costs in compute, whatever else shares the cores
    cpu: dict[str, list[float]] = {k: [] for k in sessions}
    single = {"fp32": _session(ref, 1), "candidate": _session(cand, 1)}
    for k, sess in single.items():
        sess.run(None, feeds[k])  # warm-up
    for _ in range(max(1, runs // 3)):
        for k, sess in single.items():
            c0 = time.process_time()
            sess.run(None, feeds[k])
            cpu[k].append(time.process_time() - c0)
    cpu_med = {k: float(np.median(v)) for k, v in cpu.items()}
    return {"shape": f"{w}x{h}", "runs": runs, "fp32_s": med["fp32"], "candidate_s": med["candidate"],
            "speedup": med["fp32"] / med["candidate"], "fp32_min_s": best["fp32"],
            "candidate_min_s": best["candidate"], "speedup_min": best["fp32"] / best["candidate"],
            "fp32_cpu_s_1thread": cpu_med["fp32"], "candidate_cpu_s_1thread": cpu_med["candidate"],
            "speedup_cpu_1thread": cpu_med["fp32"] / cpu_med["candidate"]}


# ------------------------------------------------------------------------------------------------ pipeline
class QuantizePipeline:
    def __init__(self, model: str, weights: str | None, options: QuantizeOptions, status: Status | None = None,
                 allow_random: bool = False):
        options.validate()
        self.opts = options
        self.status = status or (lambda _msg: None)
        if options.shape is None and (model.endswith(".onnx") or Path(model).is_file()):
            X.read_metadata(model)  # one-line error for a file that is not an edgevsr export
            options.shape = X.fixed_lr_shape(model)  # a fixed-shape export only takes frames of its size
        # bad data fails here, in one line, before the (slow) export
        self.frames = self.calibration_frames() if options.calib else None
        if options.gt is not None and not Path(options.gt).exists():
            raise EdgeVSRError(f"{options.gt}: no such file or folder (--gt)")
        self._gt: tuple[list, list] | None = None
        self.proto, self.spec, self.source = load_reference(model, weights, options.shape, allow_random)
        self.tmp = tempfile.TemporaryDirectory(prefix="edgevsr-quantize-")
        self.dir = Path(self.tmp.name)
        self.ref_path = _write(self.proto, self.dir / "fp32.onnx")

    def close(self) -> None:
        if hasattr(self, "tmp"):
            self.tmp.cleanup()

    # data ----------------------------------------------------------------------------------------------
    def calibration_frames(self) -> list[np.ndarray]:
        shape = self.opts.shape or self.opts.calib_shape
        return read_calib_frames(self.opts.calib, self.opts.calib_frames, shape)

    def gt_clip(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(LR frames made by BD x4 degradation, GT frames cropped to 4 x LR) of the held-out clip."""
        if self._gt is None:
            from edgevsr.quality.paired import PairedClip

            s = self.spec.scale
            gt = read_calib_frames(self.opts.gt, self.opts.gt_frames, None, min_frames=2)
            size = None
            if self.opts.shape:
                h, w = self.opts.shape
                if gt[0].shape[0] < h * s or gt[0].shape[1] < w * s:
                    raise EdgeVSRError(f"{self.opts.gt}: GT frames smaller than {w * s}x{h * s} (--shape x{s})")
                size = (w * s, h * s)
            clip = PairedClip.from_frames(Path(self.opts.gt).stem, gt, "BD", s, size)
            self._gt = (clip.lr, clip.gt)
        return self._gt

    # candidates ---------------------------------------------------------------------------------------
    def _candidate(self, proto, name: str) -> Path:
        X.set_metadata(proto, {k: v for k, v in ((p.key, p.value) for p in self.proto.metadata_props)})
        return _write(proto, self.dir / f"{name}.onnx")

    def run(self, output: Path) -> QuantizeReport:
        import onnx

        from edgevsr.io.atomic import check_writable

        check_writable(Path(output))
        o = self.opts
        frames = self.frames
        if frames is None:  # FP16 without calibration data: quality measured on the GT clip only
            frames = self.gt_clip()[0] if o.gt else None
        ref_out = self.ref_calib_out = upscale_frames(self.ref_path, frames) if frames else None
        report = QuantizeReport(str(output), o.precision, None, None, 0, self.ref_path.stat().st_size,
                                calib_frames=len(frames or []))
        if o.precision == "fp16":
            from edgevsr.quantize.fp16 import convert_fp16, fp16_nodes

            self.status("converting to FP16")
            half = fp16_nodes(self.proto)
            final = convert_fp16(self.proto)
            for g, grp in layer_groups(self.proto).items():
                report.groups[g] = "fp16" if any(n in half for n in grp.nodes) else "fp32"
            report.groups["(warp, flow scaling, skip, output)"] = "fp32 (block list)"
            precision = "fp16"
        else:
            final, plan = self._int8(frames, report)
            report.method, report.target = o.method, o.target
            precision = "mixed" if plan.float_groups else "int8"
            for g in plan.groups:
                report.groups[g] = f"fp32 ({plan.float_groups[g]})" if g in plan.float_groups else (
                    "int8" + (f" ({plan.int8_notes[g]})" if g in plan.int8_notes else ""))
            report.budget_met = plan.passed
            if not plan.passed:
                report.notes.append("QUALITY BUDGET NOT MET: kept the best model found (most groups in float "
                                    "the search allows); it is labelled so in its metadata")
        meta = {p.key: p.value for p in self.proto.metadata_props}
        meta[X.PRECISION_KEY] = precision
        meta["edgevsr.quantization"] = json.dumps({"precision": precision, "method": report.method,
                                                   "target": report.target, "groups": report.groups,
                                                   "budget": report.budget, "budget_met": report.budget_met})
        X.set_metadata(final, meta)
        report.precision = precision
        cand_path = _write(final, self.dir / "candidate.onnx")
        onnx.checker.check_model(str(cand_path))
        if frames:
            self.status("measuring quality vs FP32 on the calibration frames")
            report.psnr_vs_fp32_calib = _psnr_y(upscale_frames(cand_path, frames), ref_out)
        if o.gt:
            self.status("measuring quality vs ground truth on the held-out clip")
            report.quality = self.quality_vs_gt(cand_path)
        if o.speed_shape:
            shape = o.shape or o.speed_shape
            self.status(f"timing ONNX Runtime CPU, FP32 and {precision} side by side at {shape[1]}x{shape[0]}")
            report.speed = speed_side_by_side(self.ref_path, cand_path, self.spec, shape, o.speed_runs)
        X.save_onnx(final, output)
        report.file_size = Path(output).stat().st_size
        return report

    # INT8 ---------------------------------------------------------------------------------------------
    def _int8(self, frames: list[np.ndarray], report: QuantizeReport) -> tuple[object, MixedPrecisionPlan]:
        o = self.opts
        with OnnxRuntimeRunner(self.ref_path) as runner:
            steps = record_steps(runner, frames)
        self.status(f"collecting activation statistics ({len(steps)} steps, 2 passes)")
        stats, report.cache_used = cached_stats(self.proto, steps, o.cache)
        ranges = stats.ranges(o.method, o.percentile)
        groups = layer_groups(self.proto)
        names = list(groups)
        if not names:
            raise EdgeVSRError(f"{self.source}: no convolution layer groups found to quantize")
        defaults = default_float_groups(self.proto, groups)
        ref_session = _session(self.ref_path)
        in_names = [i.name for i in ref_session.get_inputs()]
        sens_steps = steps[: max(1, o.sensitivity_steps)]
        ref_steps = [_to_uint8(ref_session.run(None, dict(zip(in_names, s)))[0]) for s in sens_steps]
        ref_frames = self.ref_calib_out
        built: dict[frozenset, Path] = {}

        def build(float_groups: frozenset[str]) -> Path:
            if float_groups not in built:
                q = quantize_qdq(self.proto, ranges, float_groups, o.target)
                built[float_groups] = self._candidate(q, f"q{len(built)}")
            return built[float_groups]

        def score(float_groups: frozenset[str]) -> float:
            sess = _session(build(float_groups))
            outs = [_to_uint8(sess.run(None, dict(zip(in_names, s)))[0]) for s in sens_steps]
            return _psnr_y(outs, ref_steps)

        report.budget = o.budget.named_for("fp32")
        vs_fp32, vs_gt = o.budget.part(vs_gt=False), o.budget.part(vs_gt=True)

        def check(float_groups: frozenset[str]) -> tuple[bool, dict[str, float]]:
            path = build(float_groups)
            metrics = {"psnr_vs_fp32": _psnr_y(upscale_frames(path, frames), ref_frames)}
            checks = vs_fp32.check({}, {}, {"psnr_y": metrics["psnr_vs_fp32"]})
            if all(c.passed for c in checks) and vs_gt.given():  # the held-out clip only when worth it
                q = self.quality_vs_gt(path)
                checks = vs_gt.check(q["candidate vs gt"], q["fp32 vs gt"], {})
                metrics |= {c.budget.removeprefix("max_"): c.value for c in checks}
            return all(c.passed for c in checks), metrics

        if o.search:
            self.status(f"sensitivity: each of {len(names)} layer groups alone in INT8")
            sensitivity = measure_sensitivity(names, score, lambda g: self.status(f"sensitivity: {g}"))
            plan = plan_mixed_precision(names, defaults, sensitivity, check, on_trial=self.status)
        else:
            plan = MixedPrecisionPlan(names, {g: f"default: {r}" for g, r in defaults.items()}, {},
                                      {g: float("nan") for g in names})
            plan.passed = check(frozenset(plan.float_groups))[0]
        final = quantize_qdq(self.proto, ranges, frozenset(plan.float_groups), o.target)
        float_nodes, int8_tensors = float_decisions(self.proto, frozenset(plan.float_groups))
        X.set_metadata(final, {FLOAT_NODES_KEY: json.dumps(float_nodes)})
        if o.trt_cache:  # implicit TensorRT path: scales only where the plan runs INT8, float layers listed
            from edgevsr.calibration.trt_cache import write_cache

            write_cache(o.trt_cache, {k: max(abs(lo), abs(hi)) for k, (lo, hi) in ranges.items() if k in int8_tensors},
                        o.trt_version, float_nodes)
        self.plan = plan
        return final, plan

    # reporting ------------------------------------------------------------------------------------------
    def quality_vs_gt(self, cand_path: Path) -> dict[str, dict[str, float]]:
        from edgevsr.quality.gate import quality_gate

        lr, gt = self.gt_clip()
        if not hasattr(self, "_ref_gt_out"):
            self._ref_gt_out = upscale_frames(self.ref_path, lr)
        cand = upscale_frames(cand_path, lr)
        r = quality_gate(cand, self._ref_gt_out, gt)
        keep = ("psnr_y", "ssim_y", "lpips", "tof")
        pick = lambda d: {k: float(v) for k, v in d.mean().items() if k in keep and v is not None}  # noqa: E731
        return {"fp32 vs gt": pick(r.reference), "candidate vs gt": pick(r.candidate),
                "candidate vs fp32": pick(r.vs_reference)}
