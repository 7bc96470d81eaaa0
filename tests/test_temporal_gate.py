"""The default-weights gate: GAN weights flicker no more than stage 1 nor bicubic-bd on any clip."""

from __future__ import annotations

import json

import pytest

from edgevsr.errors import EdgeVSRError
from edgevsr.train.temporal_gate import main, violations


def _report(gan_tof: float, gan_tlp: float) -> dict:
    def row(w, clip, tof, tlp):
        return {"weights": w, "clip": clip, "tof": tof, "tlp100": tlp}

    return {"reference": "s1", "rows": [
        row("bicubic-bd", "a", 0.50, 2.0), row("bicubic-bd", "b", 0.86, 2.4),
        row("s1", "a", 0.40, 1.0), row("s1", "b", 0.80, 1.5),
        row("s2", "a", 0.39, 0.9), row("s2", "b", gan_tof, gan_tlp)]}


def test_passes_only_when_no_worse_everywhere():
    assert violations(_report(0.80, 1.5), "s2") == []
    v = violations(_report(0.92, 2.7), "s2")
    # clip b: worse than stage 1 in both metrics, worse than bicubic-bd in both; clip a is fine
    assert len(v) == 4 and all(x.startswith("b: ") for x in v)
    assert any("tof 0.920 > bicubic-bd 0.860" in x for x in v)


def test_cli_exit_status_and_bad_reports(tmp_path, capsys):
    good, bad, worse = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "worse.json"
    good.write_text(json.dumps(_report(0.8, 1.4)))
    bad.write_text(json.dumps(_report(0.81, 1.4)))
    assert main([str(good), "--candidate", "s2"]) == 0
    assert main([str(bad), "--candidate", "s2"]) == 1
    assert "b: tof 0.810 > s1 0.800" in capsys.readouterr().out
    worse.write_text(json.dumps(_report(0.92, 2.7)))  # clip b over both bounds in both metrics: 2 pairs, 4 lines
    assert main([str(worse), "--candidate", "s2"]) == 1
    assert "fails on 2 clip/metric pairs (4 bounds exceeded)" in capsys.readouterr().out
    assert main([str(good), "--candidate", "nope"]) == 2
    with pytest.raises(EdgeVSRError, match="clip 'b': tof is not a finite number"):
        violations(_report(float("nan"), 1.4), "s2")  # NaN is damage, not a pass
    with pytest.raises(EdgeVSRError, match="no rows"):
        violations({"rows": []}, "s2")


@pytest.mark.parametrize("report, message", [
    ([1, 2], "no rows"),  # AttributeError traceback
    ({"rows": [1]}, "rows[0] is not a row"),  # TypeError traceback
    ({"rows": [{"weights": "s2"}]}, "rows[0] is not a row"),  # KeyError traceback
    ("tof-str", "tof is not a number"),  # TypeError traceback
    ("duplicate", "two rows for weights 's2' on clip 'b'"),  # the first row was silently not judged
])
def test_a_malformed_report_is_exit_2_in_one_line_not_exit_1(tmp_path, capsys, report, message):
    """Exit 1 means the candidate fails the gate: a traceback (also exit 1) on a malformed report read as a verdict."""
    if report == "tof-str":
        report = _report(0.8, 1.4)
        report["rows"][-1]["tof"] = "0.8"
    elif report == "duplicate":
        report = _report(0.9, 1.4)
        report["rows"].append(dict(report["rows"][-1], tof=0.7))  # a failing row, then a passing one
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert main([str(path), "--candidate", "s2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_zero_bound_is_a_violation_not_a_division_by_zero(capsys):
    report = _report(0.8, 1.4)
    for row in report["rows"]:
        if row["weights"] == "bicubic-bd" and row["clip"] == "b":
            row["tof"] = 0.0
    assert violations(report, "s2") == ["b: tof 0.800 > bicubic-bd 0.000 (from 0)"]
