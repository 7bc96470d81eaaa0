"""`edgevsr train`: stage-1 / stage-2 training from a YAML config, with resume and CLI overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options
from edgevsr.cli.progress import console


def _passive_openmp() -> None:
    """Re-run this command with OMP_WAIT_POLICY=PASSIVE unless the user chose a policy.

    OpenMP threads spin while they wait; on a shared CPU (other jobs, CI) a
    2-thread training step was measured 5-10x slower than with passive waiting
    (20-50 s vs 4-5 s per step at load 8 on 2 cores). The policy is read when
    the OpenMP runtime loads, i.e. before this code runs, hence the re-exec.
    """
    import os
    import sys

    if "OMP_WAIT_POLICY" in os.environ or not sys.argv or not os.path.exists(sys.argv[0]):
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.execv(sys.executable, [sys.executable, *sys.argv])


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        config: Path = typer.Option(..., "--config", "-c", help="YAML config (see edgevsr/configs/)."),
        resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/last.pt."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh in a RUN_DIR that holds a run "
                                       "(its checkpoint, curves and best weights are replaced)."),
        iterations: int = typer.Option(None, "--iterations", help="Train until this total iteration count."),
        run_dir: str = typer.Option(None, "--run-dir", help="Override run_dir."),
        data: str = typer.Option(None, "--data", help="Override data.root (dataset folder)."),
        batch: int = typer.Option(None, "--batch", help="Override data.batch."),
        window: int = typer.Option(None, "--window", help="Override data.window (frames per sample)."),
        init: str = typer.Option(None, "--init", help="Start from these generator weights."),
        device: str = typer.Option(None, "--device", help="auto | cpu | cuda."),
        threads: options.Threads = None,
        val_every: int = typer.Option(None, "--val-every", help="Validate every N iterations."),
        lr: float = typer.Option(None, "--lr", min=0.0, help="Override lr (e.g. a lower rate for a continuation)."),
        time_limit: float = typer.Option(None, "--time-limit", min=0.0,
                                         help="Stop (validate, checkpoint) after this many minutes; 0 = none."),
    ) -> None:
        """Train a generator; checkpoints, validation CSV/PNG and the best weights go to the run directory."""
        _passive_openmp()
        from edgevsr.cli.progress import frame_progress
        from edgevsr.train.config import load_config
        from edgevsr.train.trainer import Trainer

        if resume and overwrite:
            raise typer.BadParameter("--resume continues the run in RUN_DIR, --overwrite replaces it: pick one")
        cfg = load_config(config, {"iterations": iterations, "run_dir": run_dir, "data.root": data,
                                   "data.batch": batch, "data.window": window, "init": init, "device": device,
                                   "threads": threads, "val_every": val_every, "lr": lr,
                                   "time_limit_minutes": time_limit})
        with frame_progress() as progress:
            trainer = Trainer(cfg, resume=resume, console=progress.console, overwrite=overwrite)
            best = trainer.fit(progress=progress)
        console.print(f"{cfg.run_dir}: iteration {trainer.iteration}; best " +
                      " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in best.items()),
                      highlight=False)

    @app.command("ship-weights")
    def ship_weights(
        run_dir: Path = typer.Argument(..., help="Training run directory (uses best.safetensors)."),
        name: str = typer.Option(..., "--name", help="Shipped weights name, e.g. egvsr-stage1."),
        default: bool = typer.Option(False, "--default", help="Make these the model's default weights."),
        output: Annotated[Path | None, options.output("Folder (default: the package's weights/files).")] = None,
        frames: int = typer.Option(100, "--frames", min=2, help="First N frames of each held-out clip measured."),
        last: bool = typer.Option(False, "--last", help="Ship RUN_DIR/last.pt instead of the best checkpoint (its "
                                  "weight average when the run has ema_decay)."),
        as_model: str = typer.Option(None, "--as-model",
                                     help="Ship for another name of the same generator (frvsr run -> tecogan)."),
        iteration: int = typer.Option(None, "--iteration", min=0,
                                      help="Ship the generator validated at N (RUN_DIR/validated/N.safetensors, kept "
                                      "with keep_validated) instead of the best checkpoint."),
    ) -> None:
        """Store a run's best generator as FP16 safetensors + JSON card (validation metrics, config, data)."""
        from edgevsr.io.atomic import check_not_input
        from edgevsr.train.ship import ship

        if output is not None:
            check_not_input(output, [run_dir])
        path = ship(run_dir, name, default, output, frames, last, as_model, iteration)
        console.print(f"wrote {path} and {path.with_suffix('.json').name}", highlight=False)
