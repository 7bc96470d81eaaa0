"""benchmarks/train_step_speed.py refuses arguments that would measure nothing before it builds any trainer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_step_speed.py"


@pytest.mark.parametrize("extra, message", [
    (["--rounds", "0"], "--rounds: must be at least 1"),  # statistics.median([]) traceback after the warm-ups
    (["--steps", "0"], "--steps: must be at least 1"),  # ZeroDivisionError in the ratios
    (["--variant", "fp32 1 thread", "--variant", "fp32 1 thread"], "given twice"),  # one trainer, pooled rounds
    (["--config", "a.yaml"], "a.yaml given twice"),
])
def test_arguments_that_measure_nothing_exit_2_before_any_work(tmp_path, capsys, monkeypatch, extra, message):
    spec = importlib.util.spec_from_file_location("train_step_speed", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "_trainer", lambda *a: pytest.fail("built a trainer"))
    with pytest.raises(SystemExit) as exc:
        mod.main(["--config", "a.yaml", *extra])
    assert exc.value.code == 2 and message in capsys.readouterr().err
