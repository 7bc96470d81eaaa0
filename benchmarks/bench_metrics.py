"""Seconds per 1080p frame of each quality metric, and of a whole `edgevsr eval` scoring pass.

    python benchmarks/bench_metrics.py [--frames 4] [--device cpu|cuda]

Frames are real footage (../shared basketballpass, upscaled to 1920x1080) when available, else a smooth
random texture; the "output" is a blurred copy, so flows and LPIPS features are non-trivial.
Prints a table and writes benchmarks/results/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from edgevsr.quality import metrics as M
from edgevsr.quality.lpips import load_lpips, to_lpips_input
from edgevsr.quality.scorer import EvalOptions, Scorer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = Path(os.environ.get("EDGEVSR_SHARED", ROOT.parent / "shared")) / "data" / "basketballpass"


def frames_1080p(n: int) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    if SHARED.is_dir():
        gt = [cv2.resize(cv2.imread(str(SHARED / f"im{i + 1}.png"))[..., ::-1], (1920, 1080),
                         interpolation=cv2.INTER_CUBIC) for i in range(n)]
        source = "basketballpass frames resized to 1920x1080"
    else:
        rng = np.random.default_rng(0)
        base = cv2.GaussianBlur(rng.integers(0, 256, (1080 + 8 * n, 1920 + 8 * n, 3), np.uint8), (0, 0), 3)
        gt = [np.ascontiguousarray(base[4 * i:4 * i + 1080, 4 * i:4 * i + 1920]) for i in range(n)]
        source = "smooth random texture, 4 px/frame pan"
    out = [cv2.GaussianBlur(f, (0, 0), 1.0) for f in gt]
    return out, gt, source


def per_frame(fn, n: int, repeat: int = 2) -> float:
    """Best of ``repeat`` runs of fn() (which processes ``n`` frames), in seconds per frame."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    n = args.frames
    out, gt, source = frames_1080p(n)
    lp = load_lpips(device=args.device)
    dev = args.device
    rows = []

    def add(name: str, fn, note: str, count: int = n) -> None:
        rows.append({"metric": name, "seconds_per_frame": per_frame(fn, count), "note": note})

    add("PSNR-Y", lambda: [M.psnr(o, g) for o, g in zip(out, gt, strict=True)], "BT.601 Y, 8 px border")
    add("PSNR-RGB", lambda: [M.psnr(o, g, "rgb") for o, g in zip(out, gt, strict=True)], "8 px border")
    add("SSIM-Y", lambda: [M.ssim_y(o, g) for o, g in zip(out, gt, strict=True)], "11x11 Gaussian, OpenCV")
    add("tOF", lambda: [M.tof(out[i - 1], out[i], gt[i - 1], gt[i]) for i in range(1, n)],
        "2 Farneback flows per frame, CPU", count=n - 1)

    @torch.no_grad()
    def lpips_pairs(batch: int) -> None:
        for i in range(0, n, batch):
            lp(to_lpips_input(out[i:i + batch], dev), to_lpips_input(gt[i:i + batch], dev))

    add("LPIPS (batch 1)", lambda: lpips_pairs(1), f"AlexNet-lin v0.1, whole frames, {dev}")
    add("LPIPS (batch 2)", lambda: lpips_pairs(2), f"2 whole frames per forward, {dev}")

    @torch.no_grad()
    def tlp_alone() -> None:  # standalone: two consecutive-frame LPIPS per frame (embeds every frame)
        for i in range(1, n):
            lp(to_lpips_input(gt[i - 1:i + 1], dev)[:1], to_lpips_input(gt[i - 1:i + 1], dev)[1:])
            lp(to_lpips_input(out[i - 1:i + 1], dev)[:1], to_lpips_input(out[i - 1:i + 1], dev)[1:])

    add("tLP100 (standalone)", tlp_alone, "2 LPIPS per frame without reuse", count=n - 1)
    scorer = Scorer(EvalOptions(device=dev))
    scorer._lpips = lp
    add("eval pass (all 5)", lambda: scorer.score_sequence("b", {"o": out, "g": gt}, [("o", "g")]),
        "Scorer: features embedded once, tLP reuses them")
    print(f"1920x1080 frames: {source}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, device {dev}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'metric':<22}{'s / frame':>10}  note")
    for r in rows:
        print(f"{r['metric']:<22}{r['seconds_per_frame']:>10.3f}  {r['note']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    dst = RESULTS / ("metrics.json" if dev == "cpu" else f"metrics_{dev}.json")
    dst.write_text(json.dumps({"frame_size": [1920, 1080], "frames": n, "source": source, "device": dev,
                               "torch": torch.__version__, "threads": torch.get_num_threads(),
                               "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                               "rows": rows}, indent=1))
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
