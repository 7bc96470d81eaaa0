"""The default-weights rule of stage-2 (GAN) training, written once: on every (clip, temporal metric) pair the
candidate's value is at most (1 + tolerance) x the stage-1 weights' and, where the rule bounds by it, no more than
bicubic-bd's.

Three consumers apply it and must agree on which pairs fail: the trainer's checkpoint selection
(:meth:`edgevsr.train.trainer.Trainer.within_tof_bound`, ``gan.tof_tolerance`` and ``gan.bicubic_bd_bound``), the
gate on an ``edgevsr compare-weights`` report (:func:`edgevsr.train.temporal_gate.violations`, no tolerance) and
the stage-2 search figure (``benchmarks/plot_stage2_search.py``). Written out in each, one edit (a tolerance, a
strict comparison) would let the trainer keep a checkpoint the gate refuses, or the figure pass a branch that fails.
Each consumer still reads its own source (a validation row, a report, a val.csv) and words its own output.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

TEMPORAL = ("tof", "tlp100")  # the metrics the rule bounds: a viewer sees shimmer before a PSNR or LPIPS change

Pair = TypeVar("Pair", bound=Hashable)


@dataclass(frozen=True)
class Verdict:
    """One (clip, metric) pair against the rule. Both bounds are kept, not only the lower one: the gate names
    each bound a pair exceeds, the figure draws the ratio to the lower."""

    value: float | None  # the candidate's; None where it was not measured
    reference_bound: float  # (1 + tolerance) x the stage-1 weights' value
    bicubic_bd: float | None  # bicubic-bd's value; None where the rule does not bound by it

    @property
    def bound(self) -> float:
        """The lower of the two bounds: the one a pair must stay under."""
        return self.reference_bound if self.bicubic_bd is None else min(self.reference_bound, self.bicubic_bd)

    @property
    def over_reference(self) -> bool:
        return self.value is not None and self.value > self.reference_bound

    @property
    def over_bicubic_bd(self) -> bool:
        return self.value is not None and self.bicubic_bd is not None and self.value > self.bicubic_bd

    @property
    def measured(self) -> bool:
        """A finite value: NaN (a diverged generator) compares false with every bound and would otherwise pass."""
        return self.value is not None and math.isfinite(self.value)

    @property
    def fails(self) -> bool:
        """A pair not measured (or not a number) fails: a checkpoint is not shown stable by a metric left out."""
        return not self.measured or self.over_reference or self.over_bicubic_bd

    @property
    def ratio(self) -> float | None:
        """The value over its bound (above 1 fails); None where not measured."""
        return None if self.value is None else self.value / self.bound


def judge(candidate: Mapping[Pair, float | None], reference: Mapping[Pair, float],
          bicubic_bd: Mapping[Pair, float | None] | None = None, tolerance: float = 0.0) -> dict[Pair, Verdict]:
    """A verdict per pair of ``reference`` (the pairs the stage-1 weights were measured on), in its order.

    ``candidate``: the values to judge; a pair absent, None or NaN fails. ``bicubic_bd``: None where the rule does not
    bound by bicubic-bd at all; a pair absent or None in it is bounded by the stage-1 weights alone. The bounds do
    not depend on ``candidate``: ``judge({}, reference, bicubic_bd)`` gives them alone.
    """
    limit = 1 + tolerance
    bd = bicubic_bd or {}
    return {k: Verdict(candidate.get(k), limit * ref, bd.get(k)) for k, ref in reference.items()}
