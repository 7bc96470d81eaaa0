"""Entry point: assembles the commands and turns EdgeVSRError into one line and exit code 2.

Also the rest of "never a traceback": OS errors (disk full, permission) and memory errors become one line
with exit 2; SIGTERM/SIGHUP unwind like Ctrl-C (temps removed, exit 128 + signal); Python warnings are
printed on one line; terminal colour codes are stripped from messages. A genuine bug still prints one line
(exit 1); ``EDGEVSR_DEBUG=1`` shows its traceback.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import warnings

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

def _print_version(value: bool) -> None:
    if value:
        from edgevsr import __version__

        typer.echo(f"edgevsr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


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
    "edgevsr.cli.compare_weights_cmd",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def one_line(text: str) -> str:
    """A message as one clean line: colour codes removed, later lines dropped."""
    lines = [s.strip() for s in ANSI.sub("", str(text)).splitlines() if s.strip()]
    return lines[0] if lines else ""


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"edgevsr: warning: {one_line(message) or category.__name__}\n"


def _say(text: str) -> None:
    Console(stderr=True).print(text, markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    from edgevsr.io.signals import Terminated, install

    install()
    warnings.formatwarning = _format_warning
    try:
        from typer._click import exceptions as cx  # typer >= 0.20 vendors click
    except ImportError:  # older typer: click itself
        import click.exceptions as cx

    try:
        code = app(standalone_mode=False)  # click's own usage errors come back here, to be one line
        sys.exit(code if isinstance(code, int) else 0)
    except cx.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:  # bare `edgevsr` / `edgevsr dataset`
            print(exc.ctx.get_help())
            sys.exit(0)
        where = exc.ctx.command_path if exc.ctx is not None else "edgevsr"
        _say(f"edgevsr: error: {one_line(exc.format_message())} ({where} --help)")
        sys.exit(2)
    except cx.ClickException as exc:
        _say(f"edgevsr: error: {one_line(exc.format_message())}")
        sys.exit(exc.exit_code)
    except typer.Abort:  # click's form of Ctrl-C
        _say("edgevsr: interrupted")
        sys.exit(130)
    except EdgeVSRError as exc:
        _say(f"edgevsr: error: {one_line(exc)}")
        sys.exit(2)
    except Terminated as exc:
        _say(f"edgevsr: stopped by {exc}")
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        _say("edgevsr: interrupted")
        sys.exit(130)
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _say(f"edgevsr: error: {where}{exc.strerror or one_line(exc)}")
        sys.exit(2)
    except MemoryError:
        _say("edgevsr: error: out of memory; try a smaller input (see $EDGEVSR_MAX_INPUT)")
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("EDGEVSR_DEBUG"):
            raise
        _say(f"edgevsr: internal error: {type(exc).__name__}: {one_line(exc)} (EDGEVSR_DEBUG=1 shows where)")
        sys.exit(1)


if __name__ == "__main__":
    main()
