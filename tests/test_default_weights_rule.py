"""The default-weights rule, held once for the trainer, the temporal gate and the stage-2 search figure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from edgevsr.train.default_weights_rule import judge
from edgevsr.train.temporal_gate import violations
from edgevsr.train.trainer import Trainer

REF = {("a", "tof"): 0.2, ("a", "tlp100"): 1.0}


def _failing(verdicts: dict) -> list:
    return sorted(k for k, v in verdicts.items() if v.fails)


def test_tolerance_scales_the_stage1_bound_and_zero_means_no_worse():
    at = {("a", "tof"): 0.22, ("a", "tlp100"): 1.1}
    over = {("a", "tof"): 0.2201, ("a", "tlp100"): 1.1}
    assert _failing(judge(at, REF, tolerance=0.1)) == []  # at the bound passes: the comparison is strict
    assert _failing(judge(over, REF, tolerance=0.1)) == [("a", "tof")]
    assert _failing(judge(at, REF)) == [("a", "tlp100"), ("a", "tof")]  # no tolerance: any increase fails
    assert _failing(judge(REF, REF)) == []
    v = judge(at, REF, tolerance=0.1)[("a", "tof")]
    assert v.bound == pytest.approx(0.22) and v.ratio == pytest.approx(1.0)


def test_bicubic_bd_bounds_only_when_given_and_the_lower_bound_wins():
    cand = {("a", "tof"): 0.2, ("a", "tlp100"): 1.0}
    bd = {("a", "tof"): 0.19, ("a", "tlp100"): 2.0}
    assert _failing(judge(cand, REF, None)) == []  # off: stage 1 alone
    on = judge(cand, REF, bd)
    assert _failing(on) == [("a", "tof")]
    tof, tlp = on[("a", "tof")], on[("a", "tlp100")]
    assert tof.over_bicubic_bd and not tof.over_reference  # each bound exceeded is told apart
    assert tof.bound == 0.19 and tof.ratio == pytest.approx(0.2 / 0.19)
    assert tlp.bound == 1.0 and tlp.ratio == pytest.approx(1.0)  # stage 1 the lower here
    # bicubic-bd is not scaled by the tolerance: the tolerance loosens only the stage-1 bound
    assert _failing(judge(cand, REF, bd, tolerance=0.5)) == [("a", "tof")]
    # a pair bicubic-bd was not measured on is bounded by stage 1 alone
    assert _failing(judge(cand, REF, {("a", "tof"): None})) == []


def test_a_value_not_measured_fails_and_pairs_are_the_references():
    v = judge({("a", "tof"): 0.1}, REF)
    assert _failing(v) == [("a", "tlp100")] and v[("a", "tlp100")].ratio is None
    assert _failing(judge({("a", "tof"): 0.1, ("a", "tlp100"): None}, REF)) == [("a", "tlp100")]
    nan = judge({("a", "tof"): float("nan"), ("a", "tlp100"): 0.5}, REF, {("a", "tof"): 0.3})
    assert _failing(nan) == [("a", "tof")]  # a diverged generator's NaN compares false with every bound
    assert list(judge({("b", "tof"): 9.0, **REF}, REF)) == list(REF)  # a pair stage 1 lacks is not judged
    assert {k: v.bound for k, v in judge({}, REF, {("a", "tof"): 0.1}).items()} == {("a", "tof"): 0.1,
                                                                                     ("a", "tlp100"): 1.0}


@pytest.mark.parametrize("gan", [(0.80, 1.5), (0.81, 1.5), (0.80, 1.51), (0.87, 1.5), (0.5, 3.0)])
def test_trainer_and_gate_agree_on_the_same_numbers(gan):
    """The trainer's selection (bicubic_bd_bound, no tolerance) passes exactly the weights the gate passes."""
    tof, tlp = gan
    report = {"reference": "s1", "rows": [
        {"weights": "bicubic-bd", "clip": "b", "tof": 0.86, "tlp100": 2.4},
        {"weights": "s1", "clip": "b", "tof": 0.80, "tlp100": 1.5},
        {"weights": "s2", "clip": "b", "tof": tof, "tlp100": tlp}]}
    tr = Trainer.__new__(Trainer)  # the selection rule alone
    tr.cfg = SimpleNamespace(gan=SimpleNamespace(tof_tolerance=0.0, bicubic_bd_bound=True))
    tr.reference = {"tof@b": 0.80, "tlp100@b": 1.5}
    row = {"tof@b": tof, "tlp100@b": tlp, "tof_bicubic_bd@b": 0.86, "tlp100_bicubic_bd@b": 2.4}
    assert tr.within_tof_bound(row) == (violations(report, "s2") == [])
    assert not tr.within_tof_bound({"tof@b": tof})  # tlp100 not measured: not shown stable, so not eligible
