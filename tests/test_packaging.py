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
UBUNTU_NUMPY = "1.21.5"  # Ubuntu 22.04's python3-numpy, which JetPack's apt cv2 is built against


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


def test_tensorrt_extras_match_the_cuda_major_of_torch():
    """Issue 24, finding 5: the bare `tensorrt` metapackage pulls the newest CUDA build (11.4: CUDA 13)."""
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    trt = {name: [Requirement(r) for r in reqs if r.lower().startswith("tensorrt")] for name, reqs in extras.items()}
    trt = {k: v for k, v in trt.items() if v}
    assert set(trt) == {"tensorrt", "tensorrt-cu13"}
    assert [r.name for r in trt["tensorrt"]] == ["tensorrt-cu12"]  # the CUDA 12 torch wheels
    assert [r.name for r in trt["tensorrt-cu13"]] == ["tensorrt-cu13"]
    for reqs in trt.values():
        assert not reqs[0].specifier.contains("12.0") and reqs[0].specifier.contains("11.4.1")
    from edgevsr.deploy.trt_plan import tensorrt_cuda_mismatch

    assert tensorrt_cuda_mismatch(["tensorrt-cu12", "tensorrt_cu12_libs"], "12.8") is None
    msg = tensorrt_cuda_mismatch(["tensorrt-cu13"], "12.8")
    assert "CUDA 13" in msg and "CUDA 12.8" in msg and "edgevsr[tensorrt]" in msg
    assert "edgevsr[tensorrt-cu13]" in tensorrt_cuda_mismatch(["tensorrt-cu12"], "13.0")
    assert tensorrt_cuda_mismatch([], "13.0") is None  # JetPack's apt TensorRT: no pip metadata to judge


def test_jetson_extra_keeps_numpy_1():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "numpy<2" in extras["jetson"]


@pytest.mark.slow
def test_pip_keeps_the_jetpack_torch_numpy_1_and_cv2(tmp_path):
    """Beside JetPack's torch, Ubuntu 22.04's numpy 1.21 and the apt cv2 built against it (issue 24, finding 4)."""
    venv = tmp_path / "jetson"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    for name, version in (("torch", NV_TORCH), ("numpy", UBUNTU_NUMPY)):
        whl = _fake_wheel(tmp_path, name, version)
        subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)], check=True,
                       capture_output=True)
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "cv2").mkdir()  # apt's cv2: a module with no pip metadata
    (Path(site) / "cv2" / "__init__.py").write_text("__version__ = '4.5.4'  # JetPack stand-in\n")
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
    assert int(names.get("numpy", UBUNTU_NUMPY).split(".")[0]) == 1, f"numpy {names['numpy']} breaks the apt cv2"
