"""benchmarks/gpu/run_all.sh and its parts: the no-GPU line, the results file, the OUT limits, the latency plan.

The CPU rehearsal itself (a bare copy of the tree in a GPU-like venv) is a CI step of its own (.ci/run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "benchmarks" / "gpu"
sys.path.insert(0, str(GPU))

import bench_torch_cuda as bench  # noqa: E402
import preflight  # noqa: E402
import results  # noqa: E402
import sprint_train  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: the call would really run")
def test_without_gpu_is_one_line_and_exit_0(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    env.pop("EDGEVSR_REHEARSE", None)
    r = subprocess.run(["bash", str(GPU / "run_all.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and "EDGEVSR_REHEARSE=1" in lines[0]
    assert not any(tmp_path.iterdir())


def test_scripts_parse_and_budget_nine_minutes():
    for name in ("run_all.sh", "rehearse.sh", "train_sprint.sh"):
        assert subprocess.run(["bash", "-n", str(GPU / name)]).returncode == 0, name
    text = (GPU / "run_all.sh").read_text()
    assert "RUN_ALL_SECONDS:-540" in text and "--no-deps --no-build-isolation -e ." in text
    assert "PYTHONPATH=\"$PWD" not in text  # the bare-checkout trap of issue 24


def test_results_rows_accumulate_and_stay_valid_json(tmp_path):
    path = tmp_path / "results.json"
    results.add_row(path, {"step": "probe", "gpu": "x"})
    assert results.main(["add", str(path), "edgevsr-run", "status=ok", "seconds=12", "last=42 fps"]) == 0
    results.add_row(path, {"step": "latency", "model": "egvsr", "label": "960x540 -> 4K", "mode": "tf32",
                           "p50_ms": 1.5, "p99_ms": 2.0, "fps": 666.7, "pct_measured_fp16_peak": 3.0})
    rows = json.loads(path.read_text())["rows"]
    assert [r["step"] for r in rows] == ["probe", "edgevsr-run", "latency"] and rows[1]["seconds"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary left behind
    text = "\n".join(results.summary(path))
    assert "edgevsr-run        ok" in text and "42 fps" in text and "960x540 -> 4K" in text and "tf32" in text


def test_out_limits_of_the_device_tool(tmp_path):
    for i in range(8):
        (tmp_path / f"f{i}.txt").write_text("x")
    assert results.out_problems(tmp_path) == []
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "ok.txt").write_text("x")
    (tmp_path / "a" / "b" / "c" / "deep.txt").write_text("x")
    (tmp_path / "bad name.txt").write_text("x")
    problems = "\n".join(results.out_problems(tmp_path))
    assert "11 files (at most 8)" in problems and "deep.txt: more than 2 folders down" in problems
    assert "bad name.txt: name has characters" in problems and "ok.txt: more" not in problems
    assert results.main(["check", str(tmp_path)]) == 1


def test_fp32_rows_are_labelled_tf32_where_tf32_runs():
    assert bench.fp32_label((8, 0), True) == "tf32" and bench.fp32_label((9, 0), True) == "tf32"
    assert bench.fp32_label((7, 5), True) == "fp32" and bench.fp32_label((8, 7), False) == "fp32"
    assert bench.fp32_label(None, True) == "fp32"


def test_latency_table_takes_every_candidate_the_zoo_has(monkeypatch):
    from edgevsr import models

    assert bench.zoo_models()[:2] == ["egvsr", "egvsr-lite"]
    monkeypatch.setitem(models.ARCHITECTURES, "rrn-lite", models.ARCHITECTURES["egvsr-lite"])
    assert "rrn-lite" in bench.zoo_models() and "frvsr" not in bench.zoo_models()
    cells = bench.plan_cells(["egvsr", "rrn-lite"], bench.SIZES, "cuda")
    assert len(cells) == 2 * 2 * 4 and all(m == "fp16+compile" for _, _, m in cells[-4:])
    assert {m for _, _, m in cells[:-4]} == {"fp32", "fp16", "fp16+graphs"}


def test_sprint_overrides_move_tmp_paths_and_set_the_minutes(tmp_path):
    o = sprint_train.overrides(str(GPU / "sprint_egvsr.yaml"), 2.5, str(tmp_path), rehearse=False)
    assert o["time_limit_minutes"] == 2.5 and o["run_dir"] == str(tmp_path / "sprint-run")
    candidate = "training/candidates/egvsr.safetensors"  # tracked: not under /tmp, not moved (absolute off the root)
    assert o.get("init", candidate) in (candidate, str(GPU.parents[1] / candidate))
    assert o["data.root"] == str(tmp_path / "sprint-ds")
    chained = sprint_train.overrides(str(GPU / "sprint_egvsr.yaml"), 2.5, str(tmp_path), rehearse=False,
                                     init_from=str(GPU / "sprint_egvsr_stage0.yaml"))
    assert chained["init"] == str(tmp_path / "sprint-stage0" / "best.safetensors")  # stage 0's run, moved too
    s0 = sprint_train.overrides(str(GPU / "sprint_egvsr_stage0.yaml"), None, str(tmp_path), rehearse=True)
    assert "init" not in s0 and s0["device"] == "cpu" and s0["iterations"] == 2  # init is a shipped file


def test_preflight_sizes_the_tree_and_names_what_is_missing(capsys):
    assert preflight.main([]) == 0  # the tree alone travels
    out = capsys.readouterr().out
    assert out.startswith("tree: ") and "of 64" in out
    assert preflight.main(["--carry", "no/such/folder"]) == 1
    assert "no/such/folder: not here" in capsys.readouterr().out
