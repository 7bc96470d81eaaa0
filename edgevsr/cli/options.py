"""The command line's one vocabulary: every option that several commands take is defined here, once.

A command declares ``model: options.Model = None`` instead of a fresh ``typer.Option``, so the name, the
short flag and the help are the same everywhere; ``tests/test_cli_vocabulary.py`` walks every command
against :data:`VOCABULARY`. Deprecated spellings (``--fp16``, ``--int8``) stay one release, hidden, and
:func:`precision_from` turns them into ``--precision`` with :func:`deprecated`'s one-line note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgevsr.backends.registry import LOADERS  # light: loads no backend

PRECISIONS = ("fp32", "fp16", "int8")
BACKENDS = tuple(LOADERS)  # the registry's backends, so the help cannot drift from what runs

# -- model / weights
Model = Annotated[str | None, typer.Option(
    "--model", help="Model name (see `edgevsr models`); default egvsr, or the model an --onnx file holds.")]
Weights = Annotated[str | None, typer.Option(
    "--weights", help="Weights: a .safetensors/.pth path or a shipped name (default: the model's shipped ones).")]
AllowRandom = Annotated[bool, typer.Option(
    "--allow-random", help="Run an untrained network when no weights are shipped (plumbing only: output is noise).")]

# -- backend / device / precision
Backend = Annotated[str, typer.Option("--backend", help=" | ".join(BACKENDS))]
Onnx = Annotated[Path | None, typer.Option(
    "--onnx", help="Exported ONNX (onnxruntime) or engine (tensorrt) to run.")]
Engine = Annotated[Path | None, typer.Option("--engine", help="TensorRT engine built by `edgevsr build`.")]
Device = Annotated[str, typer.Option("--device", help="cpu | cuda | cuda:N")]
Precision = Annotated[str | None, typer.Option(
    "--precision", help="fp32 | fp16 | int8 (default: fp32, or what the --onnx file or engine carries).")]
Fp16 = Annotated[bool, typer.Option("--fp16", hidden=True, help="Deprecated: --precision fp16.")]
Int8 = Annotated[bool, typer.Option("--int8", hidden=True, help="Deprecated: --precision int8.")]
Threads = Annotated[int | None, typer.Option("--threads", help="CPU threads for torch / onnxruntime.")]
CudaGraph = Annotated[bool, typer.Option("--cuda-graph", help="tensorrt / torch on cuda: CUDA-graph replay.")]
Compile = Annotated[bool, typer.Option("--compile", help="torch: torch.compile the model step.")]
ChannelsLast = Annotated[bool, typer.Option("--channels-last", help="torch: NHWC memory format.")]

# -- output / overwrite


def output(help: str):
    """``-o/--output``: the one spelling of every command's output; only the help says what it is."""
    return typer.Option("-o", "--output", help=help)


Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an existing output (only once the new one is complete).")]
Json = Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON here.")]



def _flags(info) -> tuple[str, ...]:
    """An Annotated option's flags (typer keeps the first one in ``default``)."""
    return (info.default, *info.param_decls)


# long flag -> its one definition (what the vocabulary test compares every command against)
VOCABULARY = {
    _flags(info)[-1]: info
    for info in (t.__metadata__[0] for t in (Model, Weights, AllowRandom, Backend, Onnx, Engine, Device, Precision,
                                              Fp16, Int8, Threads, CudaGraph, Compile, ChannelsLast, Overwrite,
                                              Json))
}
OUTPUT_FLAGS = ("-o", "--output")


def deprecated(old: str, new: str) -> None:
    """The one-line note an old spelling gets for one release: ``edgevsr: note: OLD is deprecated ...; use NEW``."""
    from edgevsr.cli.progress import console

    console.print(f"edgevsr: note: {old} is deprecated and goes in the next release; use {new}",
                  markup=False, highlight=False, soft_wrap=True)


def precision_from(precision: str | None, *, fp16: bool = False, int8: bool = False) -> str | None:
    """``--precision``, or the deprecated ``--fp16`` / ``--int8`` it replaces (with a one-line note)."""
    from edgevsr.errors import EdgeVSRError

    old = [f for f, on in (("fp16", fp16), ("int8", int8)) if on]
    if len(old) > 1:
        raise EdgeVSRError("--fp16 and --int8 exclude each other: give one --precision")
    if old and precision not in (None, old[0]):
        raise EdgeVSRError(f"--precision {precision} and --{old[0]} exclude each other: give one --precision")
    for flag in old:
        deprecated(f"--{flag}", f"--precision {flag}")
    precision = precision or (old[0] if old else None)
    if precision is not None and precision not in PRECISIONS:
        raise EdgeVSRError(f"--precision {precision!r}: choose {' | '.join(PRECISIONS)}")
    return precision
