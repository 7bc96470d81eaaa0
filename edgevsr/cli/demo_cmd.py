"""`edgevsr demo`: the main job on a bundled sample, on a fresh machine, with no download."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from edgevsr.cli import options
from edgevsr.cli.progress import console


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        output: Annotated[Path, options.output("Folder for the results.")] = Path("edgevsr-demo"),
        model: options.Model = "egvsr",
        weights: options.Weights = None,
        frames: int = typer.Option(30, help="Clip length."),
    ) -> None:
        """Upscale a built-in real clip (photo + camera move, BD x4); write bicubic | model | GT video and scores."""
        from edgevsr.demo import run_demo

        with console.status("building the clip and upscaling it...") as status:
            res = run_demo(output, model, weights, frames, progress=lambda n: status.update(f"{n} done"))
        table = Table("model", "weights", "PSNR-Y (dB)", "LPIPS")
        for name, s in res.scores.items():
            table.add_row(name, str(s["weights"]), f"{s['psnr_y']:.2f}", f"{s['lpips']:.4f}" if "lpips" in s else "-")
        console.print(table)
        if res.lpips_note:
            console.print(res.lpips_note)
        console.print(f"wrote {res.video} (bicubic | {model} | ground truth), {output / 'scores.json'}")
