"""INT8 candidates (one Q/DQ model per set of float groups) and the judge that holds them to a quality budget.

The precision search (:mod:`edgevsr.quantize.sensitivity`) only decides; it asks
:class:`Int8Search` to score a set of float groups or check it against the budget.
Neither the candidates nor the judge know who drives them: data flows one way,
from the quantize entry point down.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgevsr.quality.gate import QualityBudget
from edgevsr.quantize.int8 import quantize_qdq
from edgevsr.quantize.measure import psnr_y, step_outputs, upscale_frames
from edgevsr.quantize.reference import metadata, write_proto

Pairs = tuple[list[np.ndarray], list[np.ndarray]]  # (LR frames, GT frames) of a held-out clip
GT_SUMMARY = ("psnr_y", "ssim_y", "lpips", "tof")


class QualityJudge:
    """Quality of a candidate ONNX file against the FP32 reference: on the calibration data and on ground truth.

    ``frames`` are LR frames run as deployed (the budget's PSNR vs FP32 is measured on them); ``steps``
    are recorded step inputs (the sensitivity score, cheaper: no streaming loop); ``gt`` is a held-out
    (LR, GT) clip for the budget's ground-truth terms.
    """

    def __init__(self, ref_path: Path, budget: QualityBudget, frames: list[np.ndarray] | None,
                 steps: list[tuple[np.ndarray, ...]] | None = None, gt: Pairs | None = None):
        self.ref_path, self.budget, self.frames, self.gt = ref_path, budget, frames, gt
        self.steps = steps or []
        self.ref_frames = upscale_frames(ref_path, frames) if frames else None
        self.ref_steps = step_outputs(ref_path, self.steps) if self.steps else None
        self._ref_gt_out: list[np.ndarray] | None = None

    def psnr_vs_fp32(self, path: Path) -> float | None:
        """PSNR-Y of the candidate's output vs the FP32 output on the calibration frames, as deployed."""
        if not self.frames:
            return None
        return psnr_y(upscale_frames(path, self.frames), self.ref_frames)

    def score(self, path: Path) -> float:
        """PSNR-Y vs FP32 on the recorded steps (the sensitivity measure)."""
        return psnr_y(step_outputs(path, self.steps), self.ref_steps)

    def gate(self, path: Path):
        """Candidate and FP32 reference scored against GT on the held-out clip (the reference run once)."""
        from edgevsr.quality.gate import quality_gate

        lr, gt = self.gt
        if self._ref_gt_out is None:
            self._ref_gt_out = upscale_frames(self.ref_path, lr)
        return quality_gate(upscale_frames(path, lr), self._ref_gt_out, gt)

    def vs_gt(self, path: Path) -> dict[str, dict[str, float]]:
        """Means of the FP32 model and the candidate vs GT, and of the candidate vs FP32, on the held-out clip."""
        r = self.gate(path)
        pick = lambda d: {k: float(v) for k, v in d.mean().items() if k in GT_SUMMARY and v is not None}  # noqa: E731
        return {"fp32 vs gt": pick(r.reference), "candidate vs gt": pick(r.candidate),
                "candidate vs fp32": pick(r.vs_reference)}

    def check(self, path: Path) -> tuple[bool, dict[str, float]]:
        """(budget met, the measured values): PSNR-Y vs FP32 on the calibration data first, then - only when
        that holds - the ground-truth terms on the held-out clip."""
        vs_fp32, vs_gt = self.budget.part(vs_gt=False), self.budget.part(vs_gt=True)
        metrics = {"psnr_vs_fp32": self.psnr_vs_fp32(path) if self.frames else self.score(path)}
        checks = vs_fp32.check({}, {}, {"psnr_y": metrics["psnr_vs_fp32"]})
        if all(c.passed for c in checks) and vs_gt.given():
            r = self.gate(path)
            checks = vs_gt.check(r.candidate.mean(), r.reference.mean(), {})
            metrics |= {c.budget.removeprefix("max_"): c.value for c in checks}
        return all(c.passed for c in checks), metrics


class Int8Candidates:
    """Q/DQ copies of the FP32 graph, one per set of float groups, built once and kept in ``workdir``."""

    def __init__(self, proto, ranges: dict[str, tuple[float, float]], target: str, workdir: Path):
        """``ranges`` are final: the pipeline has already applied the picture-input rule (the TensorRT cache
        it writes needs them too), so the candidates do not apply it a second time."""
        self.proto, self.ranges, self.target, self.workdir = proto, ranges, target, workdir
        self._built: dict[frozenset, Path] = {}

    def model(self, float_groups: frozenset[str]):
        return quantize_qdq(self.proto, self.ranges, float_groups, self.target, picture_range=False)

    def path(self, float_groups: frozenset[str]) -> Path:
        if float_groups not in self._built:
            q = self.model(float_groups)
            from edgevsr.quantize.export import set_metadata

            set_metadata(q, metadata(self.proto))
            self._built[float_groups] = write_proto(q, self.workdir / f"q{len(self._built)}.onnx")
        return self._built[float_groups]


class Int8Search:
    """What the precision search asks: the score and the budget check of a set of float groups."""

    def __init__(self, candidates: Int8Candidates, judge: QualityJudge):
        self.candidates, self.judge = candidates, judge

    def score(self, float_groups: frozenset[str]) -> float:
        return self.judge.score(self.candidates.path(float_groups))

    def check(self, float_groups: frozenset[str]) -> tuple[bool, dict[str, float]]:
        return self.judge.check(self.candidates.path(float_groups))
