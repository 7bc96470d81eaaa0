"""Render a report dict into its folder: report.json, cells.csv, PNG plots, report.html and summary.md."""

from __future__ import annotations

from pathlib import Path

from edgevsr.deploy.report.html_page import render_html
from edgevsr.deploy.report.markdown import render_markdown
from edgevsr.deploy.report.plots import draw_plots
from edgevsr.deploy.report.tables import write_csv, write_json
from edgevsr.io.atomic import atomic_path


def render_all(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, cells.csv, plots, report.html and summary.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": write_json(report, out_dir / "report.json"), "csv": write_csv(report, out_dir / "cells.csv")}
    plots = draw_plots(report, out_dir)
    for i, (_, p) in enumerate(plots):
        written[f"plot{i}"] = p
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(render_html(report, plots))
    written["html"] = out_dir / "report.html"
    with atomic_path(out_dir / "summary.md") as tmp:
        tmp.write_text(render_markdown(report))
    written["markdown"] = out_dir / "summary.md"
    return written
