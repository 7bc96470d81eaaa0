"""`edgevsr degrade`: make LR inputs from ground-truth frames (BD or BI), as VSR papers do."""

from __future__ import annotations

from pathlib import Path

import typer

from edgevsr.cli.progress import console, frame_progress


def register(app: typer.Typer) -> None:
    @app.command("degrade")
    def degrade(
        gt: Path = typer.Argument(..., help="Ground-truth video, frame folder, or dataset folder of sequences."),
        lr: Path = typer.Argument(..., help="Output: frame folder (or dataset folder) of LR frames."),
        mode: str = typer.Option("BD", help="BD (Gaussian blur sigma 1.5, 9x9, every 4th pixel) or BI (bicubic)."),
    ) -> None:
        """Degrade ground truth to x1/4 LR frames (BD or BI) for evaluation and training."""
        from edgevsr.degrade import degrade_clip

        with frame_progress() as progress:
            tasks: dict[str, int] = {}

            def on_frames(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=total, rate="")
                progress.update(tasks[name], completed=done)

            written = degrade_clip(gt, lr, mode, on_frames)
        console.print(f"wrote {mode} LR frames of {len(written)} sequence(s) to {lr}")
