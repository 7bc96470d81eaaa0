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
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder (only once "
                                       "the new one is complete)."),
    ) -> None:
        """Degrade ground truth to x1/4 LR frames (BD or BI) for evaluation and training."""
        from edgevsr.degrade import MODES, degrade_frame
        from edgevsr.errors import EdgeVSRError
        from edgevsr.io.atomic import atomic_path
        from edgevsr.io.frames import IMAGE_EXTS, FrameSource
        from edgevsr.io.writers import FrameSink, check_sink

        if mode not in MODES:
            raise EdgeVSRError(f"--mode {mode}: choose one of {', '.join(MODES)}")
        if not gt.exists():
            raise EdgeVSRError(f"{gt}: no such file or folder")
        # A folder of sequence folders (DATASET/GT/<seq>/) degrades sequence by sequence.
        seqs = sorted(p for p in gt.iterdir() if p.is_dir()) if gt.is_dir() else []
        has_images = gt.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in gt.iterdir())
        names = [s.name for s in seqs] if seqs and not has_images else None
        check_sink(lr, inputs=[gt], overwrite=overwrite, frames=None if names else FrameSource(gt).info.frame_count)

        def degrade_one(src_path: Path, dst: Path, progress) -> None:
            src = FrameSource(src_path)
            task = progress.add_task(src_path.name, total=src.info.frame_count, rate="")
            with FrameSink(dst, fps=src.info.fps, names=src.info.names, overwrite=overwrite, inputs=[gt]) as sink:
                for frame in src:
                    sink.write(degrade_frame(frame, mode))
                    progress.update(task, advance=1)

        with frame_progress() as progress:
            if names is None:
                degrade_one(gt, lr, progress)
            else:  # a dataset: every sequence into one temp folder, renamed onto LR when all are done
                with atomic_path(lr, is_dir=True, overwrite=overwrite, inputs=[gt]) as tmp:
                    for name in names:
                        degrade_one(gt / name, tmp / name, progress)
        console.print(f"wrote {mode} LR frames of {len(names or [gt])} sequence(s) to {lr}")
