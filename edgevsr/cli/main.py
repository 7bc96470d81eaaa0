"""Entry point: assembles the commands and turns EdgeVSRError into one line and exit code 2."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from edgevsr.errors import EdgeVSRError

app = typer.Typer(
    name="edgevsr",
    help="Real-time x4 video super-resolution: train, quantize, build, profile, run and report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 140},
)

# Each module defines register(app) adding its commands.
COMMAND_MODULES = [
    "edgevsr.cli.upscale_cmd",
    "edgevsr.cli.models_cmd",
    "edgevsr.cli.eval_cmd",
    "edgevsr.cli.dataset_cmd",
    "edgevsr.cli.train_cmd",
    "edgevsr.cli.degrade_cmd",
    "edgevsr.cli.demo_cmd",
    "edgevsr.cli.run_cmd",
    "edgevsr.cli.build_cmd",
    "edgevsr.cli.profile_cmd",
    "edgevsr.cli.compare_cmd",
    "edgevsr.cli.quantize_cmd",
    "edgevsr.cli.report_cmd",
    "edgevsr.cli.batch_cmd",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app()
    except EdgeVSRError as exc:
        Console(stderr=True).print(f"edgevsr: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("edgevsr: interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
