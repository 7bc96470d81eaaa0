"""Validation curves of training runs against counted training hours, side by side (the rrn pilot beside egvsr).

    python benchmarks/plot_runs_vs_time.py rrn=runs/rrn-stage1 egvsr=runs/egvsr-campaign-stage1 \
        -o docs/img/rrn_pilot_vs_egvsr.png --json benchmarks/results/rrn_pilot_vs_egvsr.json

Hours are the run's counted training hours (:mod:`edgevsr.train.hours`: gaps between sessions and branches
discarded by a resume from an earlier checkpoint are not counted); a validation is placed by its ``time`` when
val.csv has one, else at its iteration on the kept branch, and a discarded branch's validations are dropped
(rows without a time: see ``kept_validations``). PSNR-Y is drawn as the gain over bicubic on BD's grid (the fair
baseline) and tOF as the ratio to bicubic-bd's, both averaged over the validation clips, with each clip as a thin line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.train.hours import GAP_S, RUN_FILES, kept_validations, read_csv_rows, run_hours


def val_rows(run: Path) -> list[dict]:
    """``run/val.csv``'s rows; a row cut short (a run killed while appending it) or a field that is not a number
    is a one-line error naming the file and line, not a point drawn from part of a row."""
    path = run / "val.csv"
    if not path.is_file():
        raise EdgeVSRError(f"{path}: no such file (is this a run directory?)")
    fields, rows = read_csv_rows(path)
    if rows and "iteration" not in fields:
        raise EdgeVSRError(f"{path}: no iteration column (not a training run's val.csv?)")
    for line, row in enumerate(rows, 2):
        for key, value in row.items():
            if value in ("", "True", "False") and key != "iteration":  # not measured; tof_ok
                continue
            try:
                number = float(value)
            except ValueError:
                raise EdgeVSRError(f"{path}: line {line}: {key} is {value!r}, not a number") from None
            if key == "iteration" and not math.isfinite(number):
                raise EdgeVSRError(f"{path}: line {line}: iteration is {value!r}")
    return rows


def value(path: Path, line: int, row: dict, key: str) -> float:
    """``row[key]`` (a ``val_rows`` row from line ``line``) as a number; a column the figure needs missing, or
    left empty (not measured), is a one-line error naming the file, line and column."""
    if key not in row:
        raise EdgeVSRError(f"{path}: no {key} column")
    if row[key] == "":
        raise EdgeVSRError(f"{path}: line {line}: {key} is empty (not measured)")
    try:
        return float(row[key])
    except ValueError:
        raise EdgeVSRError(f"{path}: line {line}: {key} is {row[key]!r}, not a measurement") from None


def curve(run: Path) -> dict:
    """Per kept validation: counted hours, mean and per-clip PSNR-Y gain and tOF ratio vs bicubic-bd."""
    hours = run_hours(run)
    val = val_rows(run)
    clips = sorted({k.split("@")[1] for k in val[0] if k.startswith("psnr_y@")}) if val else []
    if not clips:
        raise EdgeVSRError(f"{run / 'val.csv'}: no rows with psnr_y@CLIP columns (not a stage-1/2 run?)")
    kept = kept_validations(hours, val)
    out = {"run": str(run), "clips": clips, "hours_counted": hours.hours, "iteration_trained": hours.iteration,
           "validations_discarded": len(val) - len(kept), "points": []}
    path, lines = run / "val.csv", {id(r): n for n, r in enumerate(val, 2)}
    for r, h in kept:
        p = {"iteration": int(float(r["iteration"])), "hours": h}

        def num(key: str, r: dict = r) -> float:
            return value(path, lines[id(r)], r, key)

        for c in clips:
            p[f"gain_db@{c}"] = num(f"psnr_y@{c}") - num(f"psnr_y_bicubic_bd@{c}")
            bd = num(f"tof_bicubic_bd@{c}")
            if not bd > 0:
                raise EdgeVSRError(f"{path}: line {lines[id(r)]}: tof_bicubic_bd@{c} is {bd}: no ratio to it")
            p[f"tof_ratio@{c}"] = num(f"tof@{c}") / bd
        p["gain_db"] = float(np.mean([p[f"gain_db@{c}"] for c in clips]))
        p["tof_ratio"] = float(np.mean([p[f"tof_ratio@{c}"] for c in clips]))
        out["points"].append(p)
    return out


def plot(curves: dict[str, dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for (label, c), colour in zip(curves.items(), [f"C{i % 10}" for i in range(len(curves))], strict=True):
        h = [p["hours"] for p in c["points"]]
        for ax, key in zip(axes, ["gain_db", "tof_ratio"], strict=True):
            ax.plot(h, [p[key] for p in c["points"]], "o-", color=colour, label=f"{label} (mean)")
            for clip in c["clips"]:
                ax.plot(h, [p[f"{key}@{clip}"] for p in c["points"]], "-", color=colour, alpha=0.25, lw=0.8)
    axes[0].set_ylabel("PSNR-Y gain over bicubic-bd (dB)")
    axes[1].set_ylabel("tOF / bicubic-bd's (lower is better)")
    for ax in axes:
        ax.set_xlabel("training hours (counted; 2 shared CPU cores)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    clips = ", ".join(next(iter(curves.values()))["clips"])
    fig.suptitle(f"validation clips: {clips} (first 30 frames; thin lines: each clip); hours: gaps >= {GAP_S:g} s "
                 "and discarded branches not counted", fontsize=9)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def labelled_runs(specs: list[str], figure: Path, json_out: Path | None = None,
                  run_files: tuple[str, ...] = ("val.csv", "train.csv")) -> dict[str, Path]:
    """``LABEL=RUN_DIR`` arguments as {label: run dir}, checked with the outputs' names before any run is read:
    neither output may be one of a run's ``run_files`` (the files the figure reads), and each must be writable (a
    bad --json refused only at the end left the figure already replaced by a command that failed)."""
    from edgevsr.io.atomic import _resolved, check_distinct, check_output

    if figure.suffix.lower() != ".png":
        raise EdgeVSRError(f"{figure}: the figure is written as PNG (.png)")

    runs = {}
    for spec in specs:
        label, sep, run = spec.partition("=")
        if not sep or not label or not run:
            raise EdgeVSRError(f"{spec!r}: expected LABEL=RUN_DIR")
        if label in runs:  # the later run would silently replace the earlier one in the figure and the JSON
            raise EdgeVSRError(f"{spec!r}: label {label!r} given twice; give each run its own label")
        runs[label] = Path(run)
    check_distinct(figure, json_out)
    for out in (figure, json_out):  # a run file not there yet (an older run's bound.json) is no input to check_output
        if out is not None and any(_resolved(out) == _resolved(run / name) for run in runs.values()
                                   for name in RUN_FILES):
            raise EdgeVSRError(f"{out}: is a file training writes in run {out.parent}; choose an output outside it")
    inputs = [run / name for run in runs.values() for name in run_files]
    for out in (figure, json_out):
        if out is not None:  # as atomic_path checks it when writing: an existing regular file is replaced
            check_output(out, inputs=inputs, existing_file_ok=True)
    return runs


def write_outputs(figure: Path, json_out: Path | None, draw, data: dict) -> None:
    """The figure (``draw(data, path)``) and the JSON, each under a temp name renamed when complete."""
    from edgevsr.io.atomic import atomic_path

    with atomic_path(figure) as tmp:
        draw(data, tmp)
    if json_out:
        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps(data, indent=2) + "\n")


def plot_runs_main(argv: list[str] | None, description: str, read, draw) -> dict | None:
    """The command line of a figure over labelled runs: ``read(run)`` per ``LABEL=RUN_DIR``, ``draw(data, png)``,
    the JSON beside it. Returns {label: read's result}, or None after a one-line error."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("-o", "--output", type=Path, required=True, help="PNG")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    try:
        data = {label: read(run) for label, run in labelled_runs(args.runs, args.output, args.json).items()}
        write_outputs(args.output, args.json, draw, data)
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return data


def main(argv: list[str] | None = None) -> int:
    curves = plot_runs_main(argv, __doc__.splitlines()[0], curve, plot)
    if curves is None:
        return 2
    for label, c in curves.items():
        last = c["points"][-1]
        print(f"{label}: {last['iteration']} it in {last['hours']:.2f} h (counted), gain {last['gain_db']:+.2f} dB, "
              f"tOF {last['tof_ratio']:.2f}x bicubic-bd")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "plot_runs_vs_time")
