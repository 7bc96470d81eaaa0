"""benchmarks/gpu/smoke.sh: without a GPU it says so in one line and exits 0 (the lent-GPU run is its real use)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: the smoke run would really run")
def test_smoke_without_gpu_is_one_line_and_exit_0(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    r = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "smoke.sh")], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert lines == ["gpu smoke: no CUDA GPU visible to PyTorch here; nothing to run"]
    assert not any(tmp_path.iterdir())


def test_smoke_script_parses_and_names_every_step():
    assert subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu" / "smoke.sh")]).returncode == 0
    text = (ROOT / "benchmarks" / "gpu" / "smoke.sh").read_text()
    for what in ("environment", "pytest -q -m gpu", "bench_torch_cuda.py", "run --model egvsr-lite --device cuda",
                 "import tensorrt", "table"):
        assert what in text, what
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "bench_torch_cuda.py")],
                       capture_output=True, text=True, timeout=120)
    if not torch.cuda.is_available():
        assert r.returncode == 0 and "no CUDA GPU" in r.stdout
