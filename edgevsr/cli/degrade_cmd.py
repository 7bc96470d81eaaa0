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
        from edgevsr.degrade import MODES, degrade_frame
        from edgevsr.errors import EdgeVSRError
        from edgevsr.io.frames import IMAGE_EXTS, FrameSource
        from edgevsr.io.writers import FrameSink

        if mode not in MODES:
            raise EdgeVSRError(f"--mode {mode}: choose one of {', '.join(MODES)}")
        if not gt.exists():
            raise EdgeVSRError(f"{gt}: no such file or folder")
        # A folder of sequence folders (DATASET/GT/<seq>/) degrades sequence by sequence.
        seqs = sorted(p for p in gt.iterdir() if p.is_dir()) if gt.is_dir() else []
        has_images = gt.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in gt.iterdir())
        jobs = [(s, lr / s.name) for s in seqs] if seqs and not has_images else [(gt, lr)]
        if len(jobs) > 1:
            lr.mkdir(parents=True, exist_ok=True)
        with frame_progress() as progress:
            for src_path, dst in jobs:
                src = FrameSource(src_path)
                task = progress.add_task(src_path.name, total=src.info.frame_count, rate="")
                with FrameSink(dst, fps=src.info.fps, names=src.info.names) as sink:
                    for frame in src:
                        sink.write(degrade_frame(frame, mode))
                        progress.update(task, advance=1)
        console.print(f"wrote {mode} LR frames of {len(jobs)} sequence(s) to {lr}")
