"""The quality gate: how much worse a candidate (FP16, INT8, pruned...) may be than its reference, checked.

One budget type serves ``edgevsr eval --reference`` (saved outputs) and
``edgevsr quantize`` (the reference is the FP32 model); each CLI keeps its own
option names (``--min-psnr-vs-ref`` / ``--min-psnr-vs-fp32``) and maps them here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource
from edgevsr.quality.datasets import discover_sequences, gt_root
from edgevsr.quality.scorer import DatasetScores, ProgressFn, Scorer

# (budget field, metric, how the checked value is formed, "<=" or ">=")
_CHECKS = {
    "max_lpips_increase": ("lpips", "increase", "<="),
    "max_tof_increase": ("tof", "increase", "<="),
    "max_tlp_increase": ("tlp100", "increase", "<="),
    "max_psnr_drop": ("psnr_y", "drop", "<="),
    "max_ssim_drop": ("ssim_y", "drop", "<="),
    "min_psnr_vs_ref": ("psnr_y", "vs_ref", ">="),
    "max_lpips_vs_ref": ("lpips", "vs_ref", "<="),
}


@dataclass
class QualityBudget:
    """How much worse a candidate (FP16, INT8, pruned...) may be than its FP32 reference. None = unchecked."""

    max_lpips_increase: float | None = None  # LPIPS(cand, gt) - LPIPS(ref, gt)
    max_tof_increase: float | None = None  # tOF(cand, gt) - tOF(ref, gt)
    max_tlp_increase: float | None = None  # tLP100(cand, gt) - tLP100(ref, gt)
    max_psnr_drop: float | None = None  # PSNR-Y(ref, gt) - PSNR-Y(cand, gt), dB
    max_ssim_drop: float | None = None  # SSIM-Y(ref, gt) - SSIM-Y(cand, gt)
    min_psnr_vs_ref: float | None = None  # PSNR-Y(cand, ref), dB
    max_lpips_vs_ref: float | None = None  # LPIPS(cand, ref)

    NEEDS_GT = ("max_lpips_increase", "max_tof_increase", "max_tlp_increase", "max_psnr_drop", "max_ssim_drop")

    def given(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def needs_gt(self) -> list[str]:
        """The given limits that compare with ground truth (the rest compare candidate with reference)."""
        return [k for k in self.given() if k in self.NEEDS_GT]

    def part(self, vs_gt: bool) -> QualityBudget:
        """Only the limits measured against ground truth (``vs_gt``) or only those against the reference:
        a caller that measures the two on different data checks them one after the other."""
        return QualityBudget(**{f.name: getattr(self, f.name) for f in fields(self)
                                if (f.name in self.NEEDS_GT) == vs_gt})

    def named_for(self, reference: str) -> dict[str, float]:
        """The given limits as a CLI whose reference is ``reference`` names them (``min_psnr_vs_fp32``), the
        checks against the reference first."""
        given = sorted(self.given().items(), key=lambda kv: kv[0] in self.NEEDS_GT)
        return {k.replace("_vs_ref", f"_vs_{reference}"): v for k, v in given}

    def check(self, candidate: Mapping[str, float | None], reference: Mapping[str, float | None],
              vs_reference: Mapping[str, float | None]) -> list[GateCheck]:
        """Each given limit against dataset means: candidate vs GT, reference vs GT, candidate vs reference."""
        checks = []
        for key, limit in self.given().items():
            metric, kind, op = _CHECKS[key]
            if metric not in (vs_reference if kind == "vs_ref" else candidate):
                raise EdgeVSRError(f"--{key.replace('_', '-')} needs the {metric} metric, which is switched off")
            value = _gate_value(kind, metric, candidate, reference, vs_reference)
            ok = value <= limit if op == "<=" else value >= limit
            checks.append(GateCheck(key, metric, float(value), float(limit), bool(ok and not math.isnan(value))))
        return checks


def _gate_value(kind: str, metric: str, cand: Mapping, ref: Mapping, vs_ref: Mapping) -> float:
    if kind == "vs_ref":
        return vs_ref[metric]
    c, r = cand[metric], ref[metric]
    if c == r:  # also inf == inf (both identical to GT)
        return 0.0
    return c - r if kind == "increase" else r - c


@dataclass
class GateCheck:
    budget: str
    metric: str
    value: float
    limit: float
    passed: bool

    def describe(self) -> str:
        op = _CHECKS[self.budget][2]
        return f"{self.budget.replace('_', '-')}: {self.value:.4f} {op} {self.limit:g} " + (
            "ok" if self.passed else "EXCEEDED")


@dataclass
class GateResult:
    passed: bool
    checks: list[GateCheck]
    vs_reference: DatasetScores  # candidate scored against the reference outputs
    candidate: DatasetScores | None = None  # candidate vs gt
    reference: DatasetScores | None = None  # reference vs gt

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks],
                "results": {d.label: d.to_dict() for d in (self.candidate, self.reference, self.vs_reference)
                            if d is not None}}


FramesLike = Sequence[np.ndarray] | Mapping[str, Iterable[np.ndarray]] | str | Path


def _as_sequences(x: FramesLike, what: str) -> dict[str, Iterable[np.ndarray]]:
    if isinstance(x, (str, Path)):
        return {name: FrameSource(p) for name, p in discover_sequences(gt_root(Path(x)) if what == "gt"
                                                                       else Path(x))}
    if isinstance(x, Mapping):
        return dict(x)
    return {"sequence": x}


def quality_gate(candidate: FramesLike, reference: FramesLike, gt: FramesLike | None = None,
                 budget: QualityBudget | None = None, scorer: Scorer | None = None,
                 on_frames: ProgressFn | None = None) -> GateResult:
    """Compare a candidate's outputs with its reference's (and both with GT) and check ``budget``.

    Each argument is one sequence (a list of HxWx3 uint8 frames), a mapping name -> frames, or a folder
    (dataset of sequences, as written by ``edgevsr eval --save-outputs`` or ``edgevsr upscale``).
    """
    budget = budget or QualityBudget()
    missing_gt = budget.needs_gt() if gt is None else []
    if missing_gt:
        raise EdgeVSRError(f"budget {', '.join('--' + k.replace('_', '-') for k in missing_gt)} needs "
                           "ground truth (--gt)")
    scorer = scorer or Scorer()
    refs = _as_sequences(reference, "reference")
    cands = _as_sequences(candidate, "candidate")
    gts = _as_sequences(gt, "gt") if gt is not None else None
    names = list(gts) if gts is not None else list(refs)
    if len(names) == 1 and len(refs) == 1 and len(cands) == 1:  # single clips: names need not agree
        refs, cands = {names[0]: next(iter(refs.values()))}, {names[0]: next(iter(cands.values()))}
    for what, seqs in (("reference", refs), ("candidate", cands)):
        missing = [n for n in names if n not in seqs]
        if missing:
            raise EdgeVSRError(f"{what}: no sequence(s) {', '.join(missing[:5])} (have {', '.join(list(seqs)[:5])})")
    metrics = scorer.options.metric_names()
    vs_ref = DatasetScores("candidate vs reference", metrics)
    cand_gt = DatasetScores("candidate vs gt", metrics) if gts is not None else None
    ref_gt = DatasetScores("reference vs gt", metrics) if gts is not None else None
    pairs = [("candidate", "reference")] + ([("candidate", "gt"), ("reference", "gt")] if gts is not None else [])
    for name in names:
        streams = {"candidate": cands[name], "reference": refs[name]}
        frame_names = None
        if gts is not None:
            streams["gt"] = gts[name]
            frame_names = getattr(getattr(gts[name], "info", None), "names", None)
        r = scorer.score_sequence(name, streams, pairs, frame_names, on_frames)
        vs_ref.sequences.append(r[("candidate", "reference")])
        if gts is not None:
            cand_gt.sequences.append(r[("candidate", "gt")])
            ref_gt.sequences.append(r[("reference", "gt")])
    checks = budget.check(cand_gt.mean() if cand_gt else {}, ref_gt.mean() if ref_gt else {}, vs_ref.mean())
    return GateResult(all(c.passed for c in checks), checks, vs_ref, cand_gt, ref_gt)
