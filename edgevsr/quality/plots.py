"""Per-frame metric curves of one or more results in one PNG, so runs (FP32 vs INT8, A vs B) are compared
by eye as well as by their means: a drop confined to a few frames shows up here, not in the average."""

from __future__ import annotations

import math
from pathlib import Path

from edgevsr.io.atomic import atomic_path
from edgevsr.quality.scorer import DatasetScores

TITLES = {"psnr_y": "PSNR-Y (dB) ↑", "psnr_rgb": "PSNR-RGB (dB) ↑", "ssim_y": "SSIM-Y ↑", "lpips": "LPIPS ↓",
          "tof": "tOF ↓", "tlp100": "tLP100 ↓"}


def plot_scores(results: list[tuple[str, DatasetScores]], path: str | Path, title: str = "") -> Path:
    """One panel per metric; x = frame index over the sequences in order (dotted lines at sequence starts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in results[0][1].metrics if all(m in ds.metrics for _, ds in results)]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(10, 1.9 * len(metrics) + 0.6), sharex=True, squeeze=False)
    for ax, m in zip(axes[:, 0], metrics, strict=True):
        for name, ds in results:
            xs, ys, x = [], [], 0
            for s in ds.sequences:
                for f in s.frames:
                    v = f.get(m)
                    if v is not None and math.isfinite(v):
                        xs.append(x)
                        ys.append(v)
                    x += 1
            mean = ds.mean()[m]
            label = f"{name} (mean {mean:.4g})" if mean is not None else name
            ax.plot(xs, ys, lw=1, marker="." if len(xs) < 60 else None, label=label)
        starts, x = [], 0
        for s in results[0][1].sequences:
            starts.append(x)
            x += len(s.frames)
        for st in starts[1:]:
            ax.axvline(st - 0.5, color="0.7", lw=0.6, ls=":")
        ax.set_ylabel(TITLES.get(m, m), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[-1, 0].set_xlabel("frame (sequences in order)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def save_png(fig, path: str | Path) -> Path:
    """A matplotlib figure as PNG under a temp name renamed when complete (a kill mid-draw leaves no PNG cut short,
    a link at ``path`` is replaced, not written through), then closed, whether or not the write succeeded."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path
