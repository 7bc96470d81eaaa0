"""The public Python API: lazy (no torch on `import edgevsr`), one code path with the CLI, and the
docs/api.md example run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "onnxruntime", "onnx", "cv2", "av", "typer")


def _python(code: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_import_edgevsr_loads_no_heavy_module():
    r = _python(f"import json, sys, edgevsr; edgevsr.__version__; edgevsr.Size(480, 272); edgevsr.parse_size('4x2');"
                f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_public_names_resolve_lazily():
    r = _python("import sys, edgevsr; edgevsr.FrameUpscaler; print('torch' in sys.modules)")
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr  # on first use, not before
    import edgevsr

    for name in ("upscale", "degrade", "quantize", "build_engine", "profile", "evaluate", "evaluate_model",
                 "load_model", "make_runner", "FrameUpscaler"):
        assert callable(getattr(edgevsr, name)), name
    assert edgevsr.stream.FrameUpscaler is edgevsr.FrameUpscaler
    assert set(edgevsr.__all__) <= set(dir(edgevsr))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        edgevsr.nope  # noqa: B018


def test_callable_modules_survive_submodule_imports():
    """`import edgevsr.quantize.int8` sets edgevsr.quantize to the package: it must stay the API call."""
    import edgevsr
    import edgevsr.quantize.int8  # noqa: F401
    import edgevsr.upscale  # noqa: F401
    from edgevsr.errors import EdgeVSRError

    assert edgevsr.quantize.int8.quantize_qdq  # the stage package, as before
    with pytest.raises(EdgeVSRError, match="precision 'int4'"):
        edgevsr.quantize("egvsr", "m.onnx", precision="int4")
    with pytest.raises(EdgeVSRError, match=r"m\.txt: output must be a \.onnx file"):
        edgevsr.quantize("egvsr", "m.txt")
    with pytest.raises(EdgeVSRError, match="no-such.mp4"):
        edgevsr.upscale("no-such.mp4", "out.mp4")


def test_upscale_api_matches_the_streaming_upscaler(tmp_path, clip):
    import cv2

    import edgevsr

    lr = tmp_path / "lr"
    lr.mkdir()
    for i, f in enumerate(clip[:3]):
        cv2.imwrite(str(lr / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    seen, lines = [], []
    r = edgevsr.upscale(lr, tmp_path / "sr", model="bicubic", on_frame=lambda d, t, s: seen.append((d, t)),
                        log=lines.append)
    assert r.frames == 3 and r.out_size == (96 * 4, 64 * 4) and seen == [(1, 3), (2, 3), (3, 3)]
    assert lines == ["bicubic (no parameters) on torch cpu fp32"]
    runner = edgevsr.make_runner("bicubic")
    with runner:
        want = list(edgevsr.FrameUpscaler(runner).run(clip[:3]))
    got = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted((tmp_path / "sr").glob("*.png"))]
    assert len(got) == 3 and all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_profile_api_returns_the_cli_json_runs():
    import edgevsr

    result = edgevsr.profile(model="bicubic", sizes=["48x32", edgevsr.Size(32, 24)], frames=2, warmup=1,
                             peak_tflops=1.0)
    assert [(r["input"]["width"], r["input"]["height"]) for r in result.runs] == [(48, 32), (32, 24)]
    assert result.to_dict()["schema"] == "edgevsr.profile/1" and not result.on_gpu
    assert all(r["frames"]["timed"] == 2 and r["latency_ms"]["median"] > 0 for r in result.runs)


def api_example() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    m = re.search(r"## Example\n.*?```python\n(.*?)```", text, re.S)
    assert m, "docs/api.md lost its example block"
    return m.group(1)


@pytest.mark.slow
def test_docs_api_example_runs(tmp_path):
    """The docs/api.md example, as written, on real frames (upscale 5 frames, FP16, evaluate)."""
    from edgevsr.errors import EdgeVSRError
    from edgevsr.quality.lpips import load_lpips

    try:
        load_lpips()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS weights unavailable: {exc}")
    code = api_example()
    written = 'Path("tests/data/footage/juggle_lawn_416x240.mp4")'
    assert written in code
    code = code.replace(written, f"Path({str(DATA / 'footage' / 'juggle_lawn_416x240.mp4')!r})")  # cwd is tmp
    r = _python(code, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "upscaled 5 frames (104, 60) -> (416, 240)" in r.stdout
    psnr = dict(re.findall(r"(sr_fp\d\d): PSNR-Y ([\d.]+) dB", r.stdout))
    assert set(psnr) == {"sr_fp32", "sr_fp16"} and float(psnr["sr_fp32"]) > 25
    work = tmp_path / "edgevsr-api-example"
    assert len(list((work / "sr_fp16").glob("*.png"))) == 5 and (work / "egvsr_fp16.onnx").is_file()
