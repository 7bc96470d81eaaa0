"""The model zoo table: kind, parameters, GMAC at 480x270, weights, PSNR-Y gain on BasketballPass, CPU fps.

    python benchmarks/bench_zoo.py [--shared ../shared] [--frames 5] [--threads 2]

Quality: the first 14 BasketballPass frames of ../shared, degraded BD x4 (and BI
x4) with edgevsr.degrade, upscaled through the streaming FrameUpscaler, PSNR-Y
(BT.601 studio range, 8-pixel border) minus that of the ``bicubic`` model on the
same frames. Only models with real weights get a quality figure: shipped weights,
or the published checkpoints in ../shared/data/pretrained (VESPCN, ESPCN).
Speed: median wall and process-CPU seconds per pushed frame at 240x136 input
(random weights where none exist: the cost of a dense network does not depend
on them). Prints a table
and writes benchmarks/results/zoo.json; the machine load is recorded beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from bench_models import frames_of

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.degrade import degrade_frame
from edgevsr.io.frames import FrameSource
from edgevsr.models import ARCHITECTURES
from edgevsr.models.spec import ModelSpec
from edgevsr.quality.metrics import psnr
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import default_weights, load_model

RESULTS = Path(__file__).parent / "results"
PUBLISHED = {"vespcn": "vespcn_ep0500.pth", "espcn": "espcn_x4_subconv_100.pth"}  # under data/pretrained
N_QUALITY = 14


def weights_for(name: str, shared: Path) -> tuple[str | None, str]:
    """(weights argument, what the table says about weights) for a model."""
    if default_weights(name) is not None:
        return None, f"shipped ({default_weights(name).name})"
    ckpt = shared / "data" / "pretrained" / PUBLISHED.get(name, "-")
    if ckpt.is_file():
        return str(ckpt), "published checkpoint (--weights PATH)"
    if name == "bicubic":
        return None, "none needed"
    return None, "none public here"


def upscale_all(name: str, weights: str | None, frames: list[np.ndarray]) -> list[np.ndarray]:
    model, _ = load_model(name, weights=weights)
    with torch.inference_mode():
        return list(FrameUpscaler(TorchRunner(model, ModelSpec.of(model, name))).run(frames))


def time_pushes(up: FrameUpscaler, frames: list[np.ndarray], warmup: int = 2) -> tuple[list[float], list[float]]:
    """Wall and process-CPU seconds of each push after ``warmup`` pushes (2: a 3-frame window has filled).

    CPU seconds (all threads) are far less sensitive to other processes on a shared machine than wall time.
    """
    for f in frames[:warmup]:
        up.push(f)
    wall, cpu = [], []
    for f in frames:
        w0, c0 = time.perf_counter(), time.process_time()
        up.push(f)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def mean_psnr(outs: list[np.ndarray], gts: list[np.ndarray]) -> float:
    return float(np.mean([psnr(o, g) for o, g in zip(outs, gts)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--size", default="240x136")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--models", default=",".join(m for m in ARCHITECTURES if m != "tecogan"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gt_dir = args.shared / "data" / "basketballpass"
    gts = []
    if gt_dir.is_dir():
        src = iter(FrameSource(gt_dir))
        gts = [next(src) for _ in range(N_QUALITY)]
    lrs = {mode: [degrade_frame(g, mode) for g in gts] for mode in ("BD", "BI")}
    base = {mode: mean_psnr(upscale_all("bicubic", None, lr), gts) for mode, lr in lrs.items()} if gts else {}
    w, h = map(int, args.size.split("x"))
    speed_frames = frames_of(w, h, args.frames)
    load_before = os.getloadavg()[0]
    rows = []
    for name in args.models.split(","):
        weights, weights_note = weights_for(name, args.shared)
        model, _ = load_model(name, weights=weights, allow_random=True)
        row = {"model": name, "kind": model.kind, "params": sum(p.numel() for p in model.parameters()),
               "gmac_480x270": model.macs_per_lr_pixel() * 480 * 270 / 1e9, "weights": weights_note}
        has_weights = weights is not None or default_weights(name) is not None
        for mode in ("BD", "BI"):
            if gts and has_weights:
                row[f"psnr_y_{mode}"] = mean_psnr(upscale_all(name, weights, lrs[mode]), gts)
                row[f"gain_{mode}"] = row[f"psnr_y_{mode}"] - base[mode]
        up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, name)))
        with torch.inference_mode():
            t, cpu = time_pushes(up, speed_frames)
        row["median_s"] = statistics.median(t)
        row["median_cpu_s"] = statistics.median(cpu)
        row["fps"] = 1.0 / row["median_s"]
        rows.append(row)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print(f"{'model':<12}{'kind':<11}{'params':>9}{'GMAC@480x270':>14}{'dB BD':>8}{'dB BI':>8}"
          f"{'fps@' + args.size:>13}{'CPU s/frame':>12}  weights")
    for r in rows:
        gains = f"{fmt(r.get('gain_BD'), '+.2f'):>8}{fmt(r.get('gain_BI'), '+.2f'):>8}"
        print(f"{r['model']:<12}{r['kind']:<11}{r['params'] / 1e6:>8.3f}M{r['gmac_480x270']:>14.1f}"
              f"{gains}{r['fps']:>13.2f}{r['median_cpu_s']:>12.2f}  {r['weights']}")
    RESULTS.mkdir(exist_ok=True)
    env = {"cpu": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__,
           "speed_input": args.size, "speed_frames": args.frames,
           "load_average_1min": [load_before, os.getloadavg()[0]],
           "quality": f"first {N_QUALITY} BasketballPass frames, x4, PSNR-Y gain over the bicubic model",
           "bicubic_psnr_y": base}
    out = RESULTS / "zoo.json"
    out.write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    print(f"bicubic PSNR-Y: {', '.join(f'{k} {v:.2f} dB' for k, v in base.items()) or 'no shared data'}; "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}; wrote {out}")


if __name__ == "__main__":
    main()
