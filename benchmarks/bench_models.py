"""CPU frames per second of every model at 240x136 and 480x272 input, next to OpenCV bicubic, in one run.

    python benchmarks/bench_models.py [--frames 5] [--sizes 240x136,480x272] [--threads 2]

Prints a table and writes benchmarks/results/models_cpu.json. Weights do not
change the cost of a dense network, so untrained weights are used where no
trained ones ship (the JSON says which).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.models import ARCHITECTURES
from edgevsr.models.spec import ModelSpec
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import load_model

RESULTS = Path(__file__).parent / "results"


def frames_of(w: int, h: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (h + 2 * n, w + 2 * n, 3), dtype=np.uint8), (5, 5), 1.5)
    return [np.ascontiguousarray(base[i:i + h, i:i + w]) for i in range(n)]


def time_per_frame(fn, frames: list[np.ndarray], warmup: int = 1) -> list[float]:
    for f in frames[:warmup]:
        fn(f)
    times = []
    for f in frames:
        t0 = time.perf_counter()
        fn(f)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--sizes", default="240x136,480x272")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--models", default=",".join(m for m in ARCHITECTURES if m != "tecogan"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    rows = []
    for size in args.sizes.split(","):
        w, h = map(int, size.split("x"))
        frames = frames_of(w, h, args.frames)
        t = time_per_frame(lambda f, w=w, h=h: cv2.resize(f, (4 * w, 4 * h), interpolation=cv2.INTER_CUBIC), frames * 4)
        rows.append({"model": "opencv-bicubic", "size": size, "weights": "-", "median_s": statistics.median(t)})
        for name in args.models.split(","):
            model, source = load_model(name, allow_random=True)
            up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, name)))
            with torch.inference_mode():
                t = time_per_frame(up.push, frames)
            rows.append({"model": name, "size": size, "weights": source, "median_s": statistics.median(t),
                         "gmac": model.macs_per_lr_pixel() * w * h / 1e9})
    base = {r["size"]: r["median_s"] for r in rows if r["model"] == "opencv-bicubic"}
    print(f"{'model':<16}{'input':>10}{'ms/frame':>12}{'fps':>10}{'x slower than cv2':>20}{'GMAC':>8}")
    for r in rows:
        r["fps"] = 1.0 / r["median_s"]
        r["slowdown_vs_opencv"] = r["median_s"] / base[r["size"]]
        print(f"{r['model']:<16}{r['size']:>10}{r['median_s'] * 1e3:>12.1f}{r['fps']:>10.2f}"
              f"{r['slowdown_vs_opencv']:>20.1f}{r.get('gmac', 0):>8.1f}")
    RESULTS.mkdir(exist_ok=True)
    env = {"cpu": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__,
           "opencv": cv2.__version__, "frames": args.frames}
    (RESULTS / "models_cpu.json").write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    print(f"wrote {RESULTS / 'models_cpu.json'}")


if __name__ == "__main__":
    main()
