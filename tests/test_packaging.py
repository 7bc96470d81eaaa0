"""Packaging: edgevsr installs beside JetPack's torch and cv2 without replacing them (issue 17, item 8).

A fresh venv gets a stand-in for NVIDIA's Jetson torch wheel (a real wheel named
torch 2.5.0a0+nv24.8, no code), then pip resolves edgevsr (+ the jetson extra)
into it with ``--dry-run --report``: nothing may replace torch, and no
opencv-python wheel may come in (it would shadow JetPack's GStreamer cv2).
The CPU install line of the README and CI keeps the exact torch pin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
NV_TORCH = "2.5.0a0+nv24.8"


def _fake_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal valid wheel (dist-info only): what pip records for an installed distribution."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: edgevsr-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    whl = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return whl


def test_dependencies_leave_torch_and_opencv_flexible():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert not any(re.match(r"opencv", d) for d in deps)
    torch = [d for d in deps if d.startswith("torch")]
    assert torch and "==" not in torch[0]
    assert "torch==2.13.0" in project["optional-dependencies"]["cpu"]


def test_readme_and_ci_install_the_cpu_pins_the_same_way():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    quick = next(ln for ln in readme.splitlines() if ln.startswith("python3 -m venv .venv"))
    assert 'pip install -e ".[cpu,dev]"' in quick
    assert 'pip install -q -e ".[cpu,dev]"' in ci


@pytest.mark.slow
def test_pip_keeps_the_jetpack_torch(tmp_path):
    venv = tmp_path / "jetson"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    whl = _fake_wheel(tmp_path, "torch", NV_TORCH)
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)], check=True,
                   capture_output=True)
    report = tmp_path / "report.json"
    r = subprocess.run([py, "-m", "pip", "install", "--dry-run", "--report", str(report),
                        f"{ROOT}[jetson]"], capture_output=True, text=True)
    if r.returncode and ("No matching distribution" in r.stderr or "Could not find" in r.stderr):
        pytest.skip(f"no package index reachable for edgevsr's other dependencies: {r.stderr.splitlines()[-1]}")
    assert r.returncode == 0, r.stderr[-2000:]
    names = {item["metadata"]["name"].lower(): item["metadata"]["version"]
             for item in json.loads(report.read_text())["install"]}
    assert "edgevsr" in names
    assert "torch" not in names, f"pip would replace the JetPack torch with {names.get('torch')}"
    assert not [n for n in names if n.startswith("opencv")], names
