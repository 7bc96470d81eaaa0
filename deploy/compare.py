"""`edgevsr compare`: two runners (backends / precisions) on the same real frames, Polygraphy-style.

Both runners stream the frames through their own :class:`~edgevsr.stream.FrameUpscaler`,
so each follows its own recurrent state, as it would in deployment: an error
made on one frame is fed back into the next, and the per-frame figures show
whether it grows. The raw float output of every step (before clipping and
rounding to uint8) is compared: max / mean absolute error and PSNR (outputs
clipped to [0, 1], peak 1), per frame and over the clip; thresholds decide
pass / fail and ``fail_fast`` stops at the first failing frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgevsr.backends.base import DelegatingRunner, Runner, to_numpy
from edgevsr.errors import EdgeVSRError
from edgevsr.quality.metrics import psnr_from_mse
from edgevsr.stream import FrameUpscaler


class OutputRecordingRunner(DelegatingRunner):
    """Runs ``inner`` unchanged and keeps a float32 copy of each raw ``infer`` output (what is compared)."""

    def __init__(self, inner: Runner):
        super().__init__(inner)
        self.outputs: list[np.ndarray] = []

    def infer(self, *inputs: Any) -> Any:
        out = super().infer(*inputs)
        self.outputs.append(to_numpy(out))
        return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two [0, 1] images (clipped first); inf when identical."""
    mse = float(np.mean((np.clip(a, 0, 1).astype(np.float64) - np.clip(b, 0, 1)) ** 2))
    return psnr_from_mse(mse, peak=1.0)


@dataclass
class FrameDiff:
    frame: int
    max_abs: float
    mean_abs: float
    psnr_db: float
    passed: bool


@dataclass
class Comparison:
    reference: str
    test: str
    output: str
    frames: list[FrameDiff] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    stopped_early: bool = False

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.frames)

    def summary(self) -> dict:
        if not self.frames:
            return {}
        return {"max_abs": max(f.max_abs for f in self.frames),
                "mean_abs": float(np.mean([f.mean_abs for f in self.frames])),
                "min_psnr_db": min(f.psnr_db for f in self.frames),
                "mean_psnr_db": float(np.mean([f.psnr_db for f in self.frames])),
                "first_failing_frame": next((f.frame for f in self.frames if not f.passed), None)}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        d["summary"] = self.summary()
        for f in d["frames"]:  # JSON has no inf
            f["psnr_db"] = None if math.isinf(f["psnr_db"]) else f["psnr_db"]
        if d["summary"]:
            for k in ("min_psnr_db", "mean_psnr_db"):
                if math.isinf(d["summary"][k]):
                    d["summary"][k] = None
        return d


def compare_runners(reference: Runner, test: Runner, frames: Iterable[np.ndarray], max_abs: float | None = None,
                    min_psnr: float | None = None, fail_fast: bool = False) -> Comparison:
    """Run both runners on the same frames and diff their raw outputs frame by frame."""
    if reference.spec.kind != test.spec.kind or reference.spec.scale != test.spec.scale:
        raise EdgeVSRError(f"cannot compare {reference.spec.name} ({reference.spec.kind} x{reference.spec.scale}) "
                           f"with {test.spec.name} ({test.spec.kind} x{test.spec.scale})")
    ref, tst = OutputRecordingRunner(reference), OutputRecordingRunner(test)
    result = Comparison(reference.describe(), test.describe(), reference.spec.output_names[0],
                        thresholds={"max_abs": max_abs, "min_psnr_db": min_psnr})
    s = reference.spec.scale
    size = [0, 0]

    def drain() -> bool:  # diff every output pair both sides have produced; False = stop (fail-fast)
        h, w = size
        while ref.outputs and tst.outputs:  # windowed models emit once their window is full
            a = ref.outputs.pop(0)[0, :, :h, :w]
            b = tst.outputs.pop(0)[0, :, :h, :w]
            diff = np.abs(a - b)
            d = FrameDiff(len(result.frames), float(diff.max()), float(diff.mean()), psnr(a, b), True)
            d.passed = (max_abs is None or d.max_abs <= max_abs) and (min_psnr is None or d.psnr_db >= min_psnr)
            result.frames.append(d)
            if fail_fast and not d.passed:
                result.stopped_early = True
                return False
        return True

    with ref, tst:
        up_ref, up_tst = FrameUpscaler(ref), FrameUpscaler(tst)
        for frame in frames:
            size[:] = frame.shape[0] * s, frame.shape[1] * s
            up_ref.push(frame)
            up_tst.push(frame)
            if not drain():
                return result
        up_ref.flush()
        up_tst.flush()
        drain()
    return result
