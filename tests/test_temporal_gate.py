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
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_report(0.8, 1.4)))
    bad.write_text(json.dumps(_report(0.81, 1.4)))
    assert main([str(good), "--candidate", "s2"]) == 0
    assert main([str(bad), "--candidate", "s2"]) == 1
    assert "b: tof 0.810 > s1 0.800" in capsys.readouterr().out
    assert main([str(good), "--candidate", "nope"]) == 2
    with pytest.raises(EdgeVSRError, match="clip 'b': tof is not a finite number"):
        violations(_report(float("nan"), 1.4), "s2")  # NaN is damage, not a pass
    with pytest.raises(EdgeVSRError, match="no rows"):
        violations({"rows": []}, "s2")
