"""Independent check of `edgevsr eval --model bicubic --degrade BD`: PSNR-Y recomputed without edgevsr.

Everything here is re-derived from the definitions with PIL + numpy only: PNG decoding (PIL, not OpenCV),
the BD degradation (9x9 Gaussian, sigma 1.5, reflect padding, every 4th pixel) as a separable sum of
shifted slices, bicubic x4 (a = -0.75, half-pixel centres, edge-clamped taps) as two interpolation
matrices, and PSNR-Y (BT.601 studio-range Y, 8-pixel border). It runs `edgevsr eval` in a subprocess,
then compares per-frame and mean PSNR-Y.

    python benchmarks/verify_eval_psnr.py --gt ../shared/data/basketballpass
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results"


def natural(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def sequences(root: Path) -> list[tuple[str, list[Path]]]:
    root = root / "GT" if (root / "GT").is_dir() else root
    found = []
    for dirpath, _, files in os.walk(root):
        pngs = sorted((f for f in files if f.lower().endswith(".png")), key=natural)
        if pngs:
            rel = Path(dirpath).relative_to(root).as_posix()
            found.append((root.name if rel == "." else rel, [Path(dirpath) / f for f in pngs]))
    return sorted(found, key=lambda s: [natural(p) for p in s[0].split("/")])


def bd_degrade(hr: np.ndarray, scale: int = 4) -> np.ndarray:
    """uint8 HxWx3 -> uint8 LR: Gaussian blur (9x9, sigma 1.5, reflect) then keep every 4th pixel."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    x = hr[:h, :w].astype(np.float64) / 255.0
    ax = np.arange(9) - 4.0
    g = np.exp(-(ax**2) / (2 * 1.5**2))
    g /= g.sum()
    p = np.pad(x, ((4, 4), (4, 4), (0, 0)), mode="reflect")
    rows = sum(g[i] * p[i:i + h] for i in range(9))
    blurred = sum(g[j] * rows[:, j:j + w] for j in range(9))
    lr = blurred[::scale, ::scale]
    return np.floor(np.clip(lr * 255.0 + 0.5, 0, 255)).astype(np.uint8)


def cubic(x: np.ndarray, a: float = -0.75) -> np.ndarray:
    x = np.abs(x)
    return np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                    np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))


def interp_matrix(n_in: int, scale: int) -> np.ndarray:
    """(n_out, n_in) bicubic interpolation weights: src = (dst + 0.5) / scale - 0.5, taps clamped at edges."""
    n_out = n_in * scale
    src = (np.arange(n_out) + 0.5) / scale - 0.5
    i0 = np.floor(src).astype(int)
    t = src - i0
    m = np.zeros((n_out, n_in))
    for k in range(-1, 3):
        np.add.at(m, (np.arange(n_out), np.clip(i0 + k, 0, n_in - 1)), cubic(t - k))
    return m


def bicubic_x4(lr: np.ndarray, scale: int = 4) -> np.ndarray:
    x = lr.astype(np.float64) / 255.0
    mh, mw = interp_matrix(x.shape[0], scale), interp_matrix(x.shape[1], scale)
    hr = np.stack([mh @ x[..., c] @ mw.T for c in range(x.shape[2])], axis=-1)
    return np.floor(np.clip(hr, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def psnr_y(out: np.ndarray, gt: np.ndarray, border: int = 8) -> float:
    def y(img: np.ndarray) -> np.ndarray:
        r, g, b = (img[..., i].astype(np.float64) / 255.0 for i in range(3))
        return np.clip(np.rint(16.0 + 65.481 * r + 128.553 * g + 24.966 * b), 0, 255)

    d = (y(out) - y(gt))[border:-border, border:-border]
    mse = float(np.mean(d * d))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def independent_scores(gt_root: Path) -> dict[str, list[float]]:
    scores = {}
    for name, files in sequences(gt_root):
        per_frame = []
        for f in files:
            gt = np.asarray(Image.open(f).convert("RGB"))
            out = bicubic_x4(bd_degrade(gt))
            per_frame.append(psnr_y(out, gt[:out.shape[0], :out.shape[1]]))
        scores[name] = per_frame
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gt", type=Path, required=True, help="GT dataset or frame folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON result (default benchmarks/results/...)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "eval.json"
        cmd = [sys.executable, "-m", "edgevsr.cli.main", "eval", "--model", "bicubic", "--gt", str(args.gt),
               "--degrade", "BD", "--json", str(js)]
        subprocess.run(cmd, check=True)
        doc = json.loads(js.read_text())
    ours = doc["results"]["output vs gt"]
    ref = independent_scores(args.gt)
    rows, worst = [], 0.0
    for seq in ours["sequences"]:
        mine = [f["psnr_y"] for f in seq["frames"]]
        theirs = ref[seq["name"]]
        assert len(mine) == len(theirs), (seq["name"], len(mine), len(theirs))
        diff = max(abs(a - b) for a, b in zip(mine, theirs, strict=True))
        worst = max(worst, diff)
        rows.append({"sequence": seq["name"], "frames": len(mine), "edgevsr": float(np.mean(mine)),
                     "independent": float(np.mean(theirs)), "max_frame_diff_db": diff})
    mean_ours = ours["mean"]["psnr_y"]
    mean_ref = float(np.mean([r["independent"] for r in rows]))
    print(f"{'sequence':<16}{'frames':>7}{'edgevsr':>10}{'independent':>13}{'max |d| frame':>15}")
    for r in rows:
        print(f"{r['sequence']:<16}{r['frames']:>7}{r['edgevsr']:>10.4f}{r['independent']:>13.4f}"
              f"{r['max_frame_diff_db']:>15.2e}")
    print(f"{'mean':<16}{'':>7}{mean_ours:>10.4f}{mean_ref:>13.4f}   |d| = {abs(mean_ours - mean_ref):.2e} dB")
    print("eval also reported: " + ", ".join(f"{k} {v:.4f}" for k, v in ours["mean"].items() if k != "psnr_y"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"eval_psnr_check_{Path(args.gt).name}.json"
    out.write_text(json.dumps({"gt": str(args.gt), "command": " ".join(cmd[1:]), "sequences": rows,
                               "mean_edgevsr": mean_ours, "mean_independent": mean_ref,
                               "max_frame_diff_db": worst, "other_metrics": ours["mean"]}, indent=1))
    print(f"wrote {out}")
    if abs(mean_ours - mean_ref) > 0.05:
        sys.exit(f"PSNR-Y differs by {abs(mean_ours - mean_ref):.3f} dB (> 0.05)")


if __name__ == "__main__":
    main()
