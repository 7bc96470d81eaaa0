"""One command-line vocabulary: every command's options against edgevsr/cli/options.py, and a fast front door."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from edgevsr.cli.main import app
from edgevsr.cli.options import OUTPUT_FLAGS, VOCABULARY, _flags, precision_from
from edgevsr.errors import EdgeVSRError

# Same flag, deliberately another form: report sweeps several models at once (MODEL=PATH, several files),
# compare-weights takes several weights, and training picks its device itself by default (auto).
EXCEPTIONS = {("report", "--weights"), ("report", "--onnx"), ("compare-weights", "--weights"), ("train", "--device"),
              ("train", "--overwrite")}  # a run folder is replaced at the start, not once a new one is complete
OUTPUT_LIKE = ("--out", "--out-dir", "--output-dir", "--dest")


def commands(cmd, path: str = "") -> list[tuple[str, object]]:
    """(name, command) of every command under ``cmd`` (typer vendors click: duck typing)."""
    found = [(path, cmd)] if path else []
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            found += commands(sub, f"{path} {name}".strip())
    return found


ALL = commands(typer.main.get_command(app))


def test_the_walk_sees_every_command():
    names = {n for n, _ in ALL}
    assert {"upscale", "run", "batch", "eval", "profile", "compare", "quantize", "build", "degrade", "demo",
            "models", "train", "ship-weights", "dataset build", "report", "report merge"} <= names


@pytest.mark.parametrize("name,cmd", ALL, ids=[n for n, _ in ALL])
def test_options_follow_the_one_vocabulary(name, cmd):
    for p in cmd.params:
        if p.param_type_name != "option":
            continue
        longs = [o for o in p.opts if o.startswith("--")]
        for flag in longs:
            info = VOCABULARY.get(flag)
            if info is None or (name, flag) in EXCEPTIONS:
                continue
            assert tuple(p.opts) == _flags(info), f"{name}: {flag} spelled {p.opts}, not {_flags(info)}"
            assert (p.help, p.hidden) == (info.help, info.hidden), f"{name}: {flag} redefined; use options.py"
        if "-o" in p.opts or "--output" in p.opts:
            assert tuple(p.opts[:2]) == OUTPUT_FLAGS, f"{name}: an output is -o/--output, not {p.opts}"
        assert not set(p.opts) & set(OUTPUT_LIKE), f"{name}: {p.opts}: outputs are -o/--output"
        if set(p.opts) & {"--fp16", "--int8", "--fp32"}:
            assert p.hidden, f"{name}: precision is --precision fp32|fp16|int8, not {p.opts}"


@pytest.mark.parametrize("name,cmd", ALL, ids=[n for n, _ in ALL])
def test_no_output_is_positional(name, cmd):
    visible = [p.name for p in cmd.params if p.param_type_name == "argument" and not getattr(p, "hidden", False)]
    assert not {"output", "out", "lr", "out_dir"} & set(visible), f"{name}: output given positionally"


def test_backend_help_lists_every_backend_of_the_registry():
    from edgevsr.backends.registry import LOADERS

    assert VOCABULARY["--backend"].help == " | ".join(LOADERS) and "opencv" in LOADERS


def test_precision_from_the_old_flags_with_a_one_line_note(capsys):
    assert precision_from(None, fp16=True) == "fp16"
    assert "note: --fp16 is deprecated and goes in the next release; use --precision fp16" in capsys.readouterr().err
    assert precision_from("int8") == "int8" and precision_from(None) is None
    with pytest.raises(EdgeVSRError, match="exclude each other"):
        precision_from("fp32", fp16=True)
    with pytest.raises(EdgeVSRError, match="exclude each other"):
        precision_from(None, fp16=True, int8=True)
    with pytest.raises(EdgeVSRError, match="choose fp32 | fp16 | int8"):
        precision_from("bf16")


@pytest.mark.parametrize("argv", [["--help"], ["models"], ["--version"], ["upscale", "--help"]])
def test_front_door_does_not_import_torch(argv):
    code = ("import sys; sys.argv = ['edgevsr', *sys.argv[1:]]\n"
            "from edgevsr.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'onnxruntime', 'cv2', 'onnx') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in r.stderr, r.stderr[-2000:]


def test_version():
    from edgevsr import __version__

    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"edgevsr {__version__}"


def test_models_table_goes_to_stdout():
    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "models"], capture_output=True, text=True)
    assert r.returncode == 0 and "egvsr-lite" in r.stdout and r.stderr == "", r.stderr
