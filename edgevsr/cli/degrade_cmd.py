"""`edgevsr degrade`: make LR inputs from ground-truth frames (BD or BI), as VSR papers do."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("degrade")
    def degrade(
        gt: Path = typer.Argument(..., help="Ground-truth video, frame folder, or dataset folder of sequences."),
        old_lr: Path = typer.Argument(None, hidden=True, help="Deprecated: -o LR."),
        output: Annotated[Path | None, options.output("Frame folder (or dataset folder) of LR frames.")] = None,
        mode: str = typer.Option("BD", help="BD (Gaussian blur sigma 1.5, 9x9, every 4th pixel) or BI (bicubic)."),
        overwrite: options.Overwrite = False,
    ) -> None:
        """Degrade ground truth to x1/4 LR frames (BD or BI) for evaluation and training."""
        from edgevsr.degrade import degrade_clip
        from edgevsr.errors import EdgeVSRError

        if old_lr is not None:
            options.deprecated("a positional LR folder", "-o LR")
        if (output is None) == (old_lr is None):
            raise EdgeVSRError("give the LR output folder once, as -o LR")
        lr = output or old_lr

        with frame_progress() as progress:
            tasks: dict[str, int] = {}

            def on_frames(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=total, rate="")
                progress.update(tasks[name], completed=done)

            written = degrade_clip(gt, lr, mode, on_frames, overwrite=overwrite)
        console.print(f"wrote {mode} LR frames of {len(written)} sequence(s) to {lr}")
