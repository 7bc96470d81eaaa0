"""Sensitivity-driven mixed precision: which layer groups may run in INT8 within a quality budget.

1. Sensitivity: quantize each layer group *alone* and measure how far the output
   moves from FP32 (PSNR-Y vs the FP32 output on calibration frames; higher =
   more robust).
2. Start from the defaults (groups known to hurt SR models kept in float,
   :func:`edgevsr.quantize.int8.default_float_groups`) and check the budget.
3. Budget missed: move the most sensitive INT8 group to float and check again,
   until met or ``max_float`` groups are float (then the plan says not passed).
4. Budget met: try each default float group in INT8, most robust first, keeping
   it there if the budget still holds ("unless measurement says otherwise").

The measurement and the budget check are callables (the calibration layer
supplies them: this module only decides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ScoreFn = Callable[[frozenset[str]], float]  # float groups -> PSNR-Y vs FP32 (dB)
CheckFn = Callable[[frozenset[str]], tuple[bool, dict[str, float]]]  # float groups -> (budget met, metrics)
ProgressFn = Callable[[str], None]


@dataclass
class Trial:
    float_groups: list[str]
    passed: bool
    metrics: dict[str, float]


@dataclass
class MixedPrecisionPlan:
    groups: list[str]
    float_groups: dict[str, str]  # group -> why it stays in float
    int8_notes: dict[str, str]  # group -> note for defaults measured back into INT8
    sensitivity: dict[str, float]  # group -> PSNR-Y vs FP32 with only that group in INT8
    trials: list[Trial] = field(default_factory=list)
    passed: bool = False

    @property
    def int8_groups(self) -> list[str]:
        return [g for g in self.groups if g not in self.float_groups]


def measure_sensitivity(groups: list[str], score: ScoreFn, on_group: ProgressFn | None = None) -> dict[str, float]:
    """PSNR-Y vs FP32 of the model with only ``g`` quantized, for each group ``g``."""
    out = {}
    for g in groups:
        out[g] = score(frozenset(x for x in groups if x != g))
        if on_group:
            on_group(g)
    return out


def plan_mixed_precision(groups: list[str], defaults: dict[str, str], sensitivity: dict[str, float],
                         check: CheckFn, max_float: int | None = None,
                         on_trial: ProgressFn | None = None) -> MixedPrecisionPlan:
    """Choose the float groups (see module docstring); ``plan.passed`` says whether the budget was met."""
    max_float = len(groups) - 1 if max_float is None else max_float
    plan = MixedPrecisionPlan(list(groups), {g: f"default: {r}" for g, r in defaults.items() if g in groups},
                              {}, dict(sensitivity))

    def run(float_groups: dict[str, str]) -> Trial:
        ok, metrics = check(frozenset(float_groups))
        trial = Trial(sorted(float_groups), ok, metrics)
        plan.trials.append(trial)
        if on_trial:
            on_trial(f"{len(groups) - len(float_groups)}/{len(groups)} groups INT8: "
                     f"{'ok' if ok else 'over budget'}")
        return trial

    trial = run(plan.float_groups)
    while not trial.passed:
        candidates = [g for g in groups if g not in plan.float_groups]
        if len(plan.float_groups) >= max_float or not candidates:
            plan.passed = False
            return plan
        worst = min(candidates, key=lambda g: sensitivity[g])
        plan.float_groups[worst] = (f"measured: most sensitive INT8 group left (alone in INT8 "
                                    f"{sensitivity[worst]:.1f} dB vs FP32); budget not met without it")
        trial = run(plan.float_groups)
    for g in sorted((g for g in plan.float_groups if plan.float_groups[g].startswith("default")),
                    key=lambda x: -sensitivity[x]):
        attempt = {k: v for k, v in plan.float_groups.items() if k != g}
        if run(attempt).passed:
            plan.int8_notes[g] = (f"default float overridden by measurement: alone in INT8 "
                                  f"{sensitivity[g]:.1f} dB vs FP32 and the budget still holds")
            plan.float_groups = attempt
    plan.passed = True
    return plan
