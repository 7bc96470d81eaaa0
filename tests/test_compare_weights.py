"""`edgevsr compare-weights` (and its old script path): per-clip rows against bicubic-bd and the reference."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, run_cli


def test_compare_weights_writes_rows_against_bicubic_bd_and_the_reference(fixtures, tmp_path):
    out = tmp_path / "cmp.json"
    code, err = run_cli("compare-weights", fixtures / "clip", "--model", "egvsr-lite", "--weights",
                        "egvsr-lite-stage2", "--weights", "egvsr-lite-stage1", "--frames", 3, "--threads", 1,
                        "-o", out)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["reference"] == "egvsr-lite-stage2" and report["command"].startswith("edgevsr compare-weights")
    rows = {r["weights"]: r for r in report["rows"]}
    assert set(rows) == {"bicubic-bd", "egvsr-lite-stage2", "egvsr-lite-stage1"}
    assert rows["egvsr-lite-stage2"]["vs_reference"]["psnr_y_db"] == 0
    assert rows["egvsr-lite-stage1"]["vs_bicubic_bd"]["psnr_y_db"] > 0  # a trained model beats bicubic-bd


def test_old_script_path_still_runs():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_weights.py"), "--help"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "--clips" in r.stdout


def test_bad_threads_is_one_line_before_any_work(fixtures, tmp_path):
    """--threads 0 was turned into 2 and -1 reached torch (an internal error); other commands refuse both."""
    for n in (0, -1):
        code, err = run_cli("compare-weights", fixtures / "clip", "--model", "egvsr-lite", "--weights",
                            "egvsr-lite-stage1", "--threads", n, "-o", tmp_path / "cmp.json")
        assert code == 2 and f"--threads {n}: must be" in err and "\n" not in err.strip(), err


def test_shipped_weights_of_another_model_compare_beside_a_path(fixtures, tmp_path):
    """rrn candidates are judged against egvsr-stage1: a shipped name brings its own model; a bad path fails
    before the clips load, in one line."""
    out = tmp_path / "cmp.json"
    code, err = run_cli("compare-weights", fixtures / "clip", "--model", "rrn", "--weights", "egvsr-lite-stage1",
                        "--weights", "rrn-stage1", "--frames", 2, "--threads", 1, "-o", out)
    assert code == 0, err
    rows = {r["weights"]: r for r in json.loads(out.read_text())["rows"]}
    assert {"egvsr-lite-stage1", "rrn-stage1"} <= set(rows)
    code, err = run_cli("compare-weights", fixtures / "clip", "--model", "rrn", "--weights", "rrn-stage1",
                        "--weights", tmp_path / "missing.safetensors", "-o", tmp_path / "x.json")
    assert code == 2 and "missing.safetensors" in err and "\n" not in err.strip(), err
