"""PNG plots: quality vs FPS per device and input size with the Pareto front, and FPS of every cell."""

from __future__ import annotations

from pathlib import Path

from edgevsr.deploy.report.config import METRIC_LABELS
from edgevsr.deploy.report.findings import LOWER_IS_BETTER, TIES, pareto_front
from edgevsr.deploy.report.merge import iter_measured
from edgevsr.deploy.report.rows import cell_label, cell_sizes, panel_devices, with_panels
from edgevsr.quality.plots import save_png

REALTIME_FPS = (25, 30, 60)


def _slug(text: str) -> str:
    s = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in s:
        s = s.replace("--", "-")
    return s.strip("-")[:60]


def _style(models: list[str]):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    colors = {m: cmap(i % 10) for i, m in enumerate(models)}
    markers = {"fp32": "o", "fp16": "s", "int8": "^", "mixed": "D"}
    return colors, markers


def _realtime_lines(ax) -> None:
    for f in REALTIME_FPS:
        ax.axvline(f, color="0.35", lw=0.9, ls=":")
        ax.text(f, 1.0, f" {f} fps", transform=ax.get_xaxis_transform(), fontsize=7, color="0.3",
                va="top", ha="left", rotation=90)


def _fps_axis(ax, xs: list[float]) -> None:
    lo = min([*xs, 20.0]) / 1.6
    hi = max([*xs, 70.0]) * 1.6
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("frames per second (log scale; higher is better)")


def plot_quality_vs_fps(report: dict, device: str, path: Path) -> Path:
    """LPIPS and tOF vs FPS, one column per input size, Pareto front marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in iter_measured(report) if c["device"] == device]
    sizes = cell_sizes(cells)
    models = sorted({c["model"] for c in cells})
    colors, markers = _style(models)
    metrics = ("lpips", "tof")
    fig, axes = plt.subplots(len(metrics), len(sizes), figsize=(5.2 * len(sizes) + 1.5, 4.0 * len(metrics)),
                             squeeze=False)
    for col, size in enumerate(sizes):
        here = [c for c in cells if c["size"] == size and (c.get("quality") or {}).get("vs_gt")]
        speed_only = sum(1 for c in cells if c["size"] == size and not (c.get("quality") or {}).get("vs_gt"))
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            pts = [(c["speed"]["fps"], c["quality"]["vs_gt"].get(metric)) for c in here]
            keep = [i for i, p in enumerate(pts) if p[1] is not None]
            pts = [pts[i] for i in keep]
            sel = [here[i] for i in keep]
            _realtime_lines(ax)
            if pts:
                front = pareto_front(pts, LOWER_IS_BETTER[metric], TIES[metric])
                for c, (x, y) in zip(sel, pts):
                    ax.scatter(x, y, s=46, color=colors[c["model"]], marker=markers.get(c["precision"], "o"),
                               edgecolor="black" if c["backend"].startswith("onnxruntime") else "none",
                               linewidth=0.8, zorder=3)
                for k, i in enumerate(front):  # name the front; the rest is read off colour and marker
                    ax.annotate(cell_label(sel[i]), pts[i], fontsize=6.5, xytext=(5, 5 if k % 2 == 0 else -10),
                                textcoords="offset points", color="crimson")
                fx = [pts[i][0] for i in front]
                fy = [pts[i][1] for i in front]
                ax.plot(fx, fy, color="crimson", lw=1.3, ls="-", zorder=2)
                ax.scatter(fx, fy, s=150, facecolor="none", edgecolor="crimson", lw=1.4, zorder=4)
                _fps_axis(ax, [p[0] for p in pts])
                ys = [p[1] for p in pts]
                pad = max((max(ys) - min(ys)) * 0.15, abs(max(ys)) * 0.05, 1e-3)
                ax.set_ylim(min(ys) - pad, max(ys) + pad)
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            else:
                _fps_axis(ax, [])
                ax.text(0.5, 0.5, "no cell with measured quality here", transform=ax.transAxes, ha="center",
                        fontsize=9, color="0.4")
            ax.set_ylabel(f"{METRIC_LABELS[metric]} vs ground truth (lower is better)")
            w, h = (int(v) for v in size.split("x"))
            title = f"input {size} -> output {4 * w}x{4 * h}"
            if speed_only:
                title += f"\n({speed_only} speed-only cells not drawn: no trained weights / no quality)"
            ax.set_title(title, fontsize=9)
            ax.grid(True, which="both", alpha=0.25)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=colors[m], label=m) for m in models]
    handles += [Line2D([], [], ls="", marker=mk, color="0.3", label=p) for p, mk in markers.items()]
    handles += [Line2D([], [], ls="", marker="o", color="white", markeredgecolor="black", label="ONNX Runtime"),
                Line2D([], [], ls="", marker="o", markerfacecolor="none", markeredgecolor="crimson", markersize=10,
                       label="Pareto front")]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.suptitle(f"Quality vs speed - {device} (red: Pareto front, named)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - 1.4 / (5.2 * len(sizes) + 1.5), 0.96))
    return save_png(fig, path)


def plot_fps(report: dict, device: str, path: Path) -> Path:
    """FPS of every measured cell, one panel per input size, real-time lines; speed-only cells hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in iter_measured(report) if c["device"] == device]
    sizes = cell_sizes(cells)
    models = sorted({c["model"] for c in cells})
    colors, _ = _style(models)
    n = max(len([c for c in cells if c["size"] == s]) for s in sizes)
    fig, axes = plt.subplots(1, len(sizes), figsize=(max(8.0, 5.5 * len(sizes)), 0.32 * n + 2.0), squeeze=False)
    for col, size in enumerate(sizes):
        ax = axes[0][col]
        here = sorted([c for c in cells if c["size"] == size], key=lambda c: c["speed"]["fps"])
        ys = range(len(here))
        for y, c in zip(ys, here):
            untrained = not c.get("trained", True)
            ax.barh(y, c["speed"]["fps"], color=colors[c["model"]], hatch="///" if untrained else None,
                    edgecolor="white" if untrained else None, alpha=0.9)
            ax.text(c["speed"]["fps"] * 1.05, y, f"{c['speed']['fps']:.2f}", va="center", fontsize=7)
        ax.set_yticks(list(ys))
        ax.set_yticklabels([cell_label(c) + (" (untrained)" if not c.get("trained", True) else "") for c in here],
                           fontsize=7)
        _fps_axis(ax, [c["speed"]["fps"] for c in here])
        _realtime_lines(ax)
        w, h = (int(v) for v in size.split("x"))
        ax.set_title(f"input {size} -> output {4 * w}x{4 * h}", fontsize=9)
        ax.grid(True, axis="x", which="both", alpha=0.25)
    fig.suptitle(f"Throughput - {device}\n(hatched: untrained weights, timed for speed only)", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def draw_plots(report: dict, out_dir: Path) -> list[tuple[str, Path]]:
    """(caption, path) of every plot written to ``out_dir``."""
    report = with_panels(report)
    plots = []
    for device in panel_devices(report):
        slug = _slug(device)
        plots.append((f"Quality vs FPS, {device}", plot_quality_vs_fps(report, device, out_dir / f"pareto-{slug}.png")))
        plots.append((f"FPS of every measured cell, {device}", plot_fps(report, device, out_dir / f"fps-{slug}.png")))
    return plots
