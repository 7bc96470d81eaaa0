"""Stage-2 search branches against the default-weights rule, side by side: LPIPS and each temporal metric's
worst clip relative to its bound, per validation.

    python benchmarks/plot_stage2_search.py --previous benchmarks/results/stage2_search.json \
        g05pp2b=runs/egvsr-campaign-stage2-g05pp2b@11700 \
        -o docs/experiments/img/stage2_search.png --json benchmarks/results/stage2_search.json

The rule (``edgevsr.train.default_weights_rule``, as ``python -m edgevsr.train.temporal_gate`` and
``bicubic_bd_bound`` in training apply it): on every clip, tOF and tLP100 no worse than the weights the run is
bounded by nor than bicubic-bd's. Those weights' values are the run's ``bound.json`` (training writes it: the
initial weights' validation, or with ``gan.bound_weights`` those weights'), else, for a run from before it, the run's
iteration-0 validation (the stage-1 weights it started from). A ratio of a clip's value to the lower of those two
bounds above 1 fails it; the figure draws, per branch, the worst such ratio over the validation clips (the clip is
named in the JSON), beside mean LPIPS. An average over clips would hide the one clip that shimmers. Rows of branches
a resume discarded are dropped.

``LABEL=RUN_DIR@ITERATION``: the run continues a line from ITERATION (started with ``init`` from that iteration's
weights, its val.csv restarts at 0): its iteration i is drawn and reported at ITERATION + i (hours stay its own).
``--previous FILE.json``: the branches of an earlier JSON of this script, whose run folders may be gone, drawn first
in their order and written into the new JSON with the others; a label also given as ``LABEL=RUN_DIR`` is read from
that run and keeps its place (only if it is the same run folder: the JSON may be the only copy of a gone one).
``--json`` may name the ``--previous`` file (read whole first) to extend it.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from plot_runs_vs_time import labelled_runs, val_rows, value, write_outputs  # sibling: benchmarks/ is on the path

from edgevsr.errors import EdgeVSRError
from edgevsr.train.default_weights_rule import TEMPORAL, judge
from edgevsr.train.hours import kept_validations, read_mapping, run_hours


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def read_bound(run: Path, clips: list[str]) -> tuple[dict, str] | None:
    """The run's ``bound.json`` as ({tof@CLIP, tlp100@CLIP: value}, where it came from); None where the run has
    none (trained before training wrote it). Malformed, or without a clip val.csv measures: a one-line error,
    not a branch judged against a bound that is not the run's."""
    path = run / "bound.json"
    if not (path.exists() or path.is_symlink()):
        return None
    data = read_mapping(path, expected="a JSON object (training writes source, iteration, tof@CLIP, tlp100@CLIP...)")
    bound = {}
    for m in TEMPORAL:
        for c in clips:
            key = f"{m}@{c}"
            if key not in data:
                raise EdgeVSRError(f"{path}: no {key}, though val.csv measures clip {c}")
            v = data[key]
            if not (is_number(v) and math.isfinite(v) and v > 0):
                raise EdgeVSRError(f"{path}: {key} is {v!r:.40}: no bound to judge the branch against")
            bound[key] = float(v)
    source = data.get("source")
    return bound, f"bound.json ({source})" if isinstance(source, str) else "bound.json"


def branch(run: Path, offset: int = 0) -> dict:
    """Per kept validation: mean LPIPS and, per temporal metric, the worst clip's ratio to its bound, at iteration
    ``offset`` + the run's. A metric no clip of a validation measured has no worst clip (None); a value that is not
    finite (a diverged generator) is the worst, so the figure never draws a branch under its bound while one of its
    clips is NaN."""
    path = run / "val.csv"
    rows = val_rows(run)
    lines = {id(r): n for n, r in enumerate(rows, 2)}
    clips = sorted({k.split("@")[1] for k in (rows[0] if rows else {}) if k.startswith("tlp100@")})
    start = [r for r in rows if int(float(r["iteration"])) == 0]
    if not clips or not start:
        raise EdgeVSRError(f"{path}: needs tlp100@CLIP columns (val_lpips) and the iteration-0 validation (of the "
                           "weights the run started from)")

    def at_start(key: str) -> float:
        v = value(path, lines[id(start[0])], start[0], key)
        if not (math.isfinite(v) and v > 0):
            raise EdgeVSRError(f"{path}: line {lines[id(start[0])]}: {key} is {v} at the iteration-0 validation: no "
                               "bound to judge the branch against")
        return v

    bounded = [f"{m}@{c}" for m in TEMPORAL for c in clips]
    bicubic_bd = {k: at_start(k.replace("@", "_bicubic_bd@", 1)) for k in bounded}  # the same in every row
    stored = read_bound(run, clips)
    reference, source = stored or ({k: at_start(k) for k in bounded}, "iteration-0 validation")
    bound = {k: v.bound for k, v in judge({}, reference, bicubic_bd).items()}
    points = []
    for row, hours in kept_validations(run_hours(run), rows):

        def measured(key: str, row: dict = row) -> float | None:
            return None if row.get(key) == "" else value(path, lines[id(row)], row, key)

        p = {"iteration": offset + int(float(row["iteration"])), "hours": hours, "lpips": measured("lpips"),
             "psnr_y": measured("psnr_y")}
        # a clip this validation did not measure is left out, neither passing nor failing
        verdicts = {k: v for k, v in judge({k: measured(k) for k in reference}, reference, bicubic_bd).items()
                    if v.value is not None}
        ratios = {k: v.ratio for k, v in verdicts.items()}
        for m in TEMPORAL:
            keys = [k for k in ratios if k.startswith(f"{m}@")]
            worst = max(keys, key=lambda k: ratios[k] if math.isfinite(ratios[k]) else math.inf, default=None)
            p[f"worst_{m}_ratio"] = None if worst is None else ratios[worst]
            p[f"worst_{m}_clip"] = None if worst is None else worst.split("@")[1]
        p["failing"] = sorted(k for k, v in verdicts.items() if v.fails)
        points.append(p)
    return {"run": str(run), "clips": clips, "bounds": bound, "bound_source": source, "iteration_offset": offset,
            "points": points}


def _clip(x) -> bool:
    return x is None or isinstance(x, str)


def _ratio(x) -> bool:
    return x is None or is_number(x)


POINT_FIELDS = {"iteration": lambda x: isinstance(x, int) and not isinstance(x, bool), "hours": is_number,
                "lpips": _ratio, "psnr_y": _ratio, "worst_tof_ratio": _ratio, "worst_tof_clip": _clip,
                "worst_tlp100_ratio": _ratio, "worst_tlp100_clip": _clip,
                "failing": lambda x: isinstance(x, list) and all(isinstance(k, str) for k in x)}


def previous_branches(path: Path) -> dict[str, dict]:
    """The branches of an earlier ``--json`` of this script, by label in its order. Anything else (not an object of
    branches, a branch or point without a field the figure or the table reads, a field of the wrong type) is a
    one-line error naming the file: a figure half drawn from it would fail after the runs were read."""
    data = read_mapping(path, expected="a JSON object of branches by label (as --json writes it)")
    for label, b in data.items():
        where = f"{path}: branch {label!r}"
        if not (isinstance(b, dict) and isinstance(b.get("run"), str) and isinstance(b.get("clips"), list)
                and all(isinstance(c, str) for c in b["clips"]) and isinstance(b.get("bounds"), dict)
                and isinstance(b.get("points"), list)):
            raise EdgeVSRError(f"{where}: needs run, clips, bounds and points, as --json writes them")
        for n, p in enumerate(b["points"]):
            if not isinstance(p, dict):
                raise EdgeVSRError(f"{where}: point {n} is not an object")
            for key, ok in POINT_FIELDS.items():
                if key not in p:
                    raise EdgeVSRError(f"{where}: point {n} has no {key}")
                if not ok(p[key]):
                    raise EdgeVSRError(f"{where}: point {n}: {key} is {p[key]!r:.40}")
    return data


def split_iteration(spec: str) -> tuple[str, int]:
    """``LABEL=RUN_DIR@ITERATION`` as (``LABEL=RUN_DIR``, ITERATION); without an ``@`` after the ``=``, (spec, 0)."""
    label, sep, rest = spec.partition("=")
    if not sep or "@" not in rest:
        return spec, 0
    run, _, iteration = rest.rpartition("@")
    if not re.fullmatch(r"[0-9]+", iteration):
        raise EdgeVSRError(f"{spec!r}: expected LABEL=RUN_DIR@ITERATION with ITERATION a whole number >= 0 (the "
                           f"line's iteration the run continues from), not {iteration!r}; a run folder named with "
                           "@ takes @0")
    return f"{label}={run}", int(iteration)


def own_points(points: list[dict], drawn: set[tuple]) -> list[dict]:
    """A branch's points less those an earlier-drawn branch already drew (a branch's run folder is a copy of its
    parent's, history included), keeping the last shared one so the branch starts where it left its parent.
    ``drawn`` gains this branch's points. Without this the last branch listed covers every line from 0, and a branch
    just started (nothing of its own yet) covered its parent's line."""
    # NaN (a diverged clip) never equals itself, nor hashes alike across objects: keyed by its text
    keyed = [tuple(repr(x) if isinstance(x, float) and math.isnan(x) else x
                   for x in (p["iteration"], p["lpips"], p["worst_tof_ratio"], p["worst_tlp100_ratio"]))
             for p in points]
    own = [i for i, k in enumerate(keyed) if k not in drawn]
    drawn.update(keyed)
    if not own:  # a branch that has not validated since it left its parent: its branch point alone
        return points[-1:]
    start = own[0] - 1 if own[0] > 0 else 0
    return [points[start]] + [points[i] for i in own if i != start]


def plot(branches: dict[str, dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    keys = [("lpips", "mean LPIPS (lower is better)"),
            ("worst_tof_ratio", "worst clip's tOF / its bound"),
            ("worst_tlp100_ratio", "worst clip's tLP100 / its bound")]
    drawn: set[tuple] = set()
    palette = plt.get_cmap("tab10" if len(branches) <= 10 else "tab20")  # past 10, tab10 gave two branches one colour
    for n, (label, b) in enumerate(branches.items()):
        points = own_points(b["points"], drawn)
        its = [p["iteration"] for p in points]
        for ax, (key, _) in zip(axes, keys, strict=True):
            ax.plot(its, [p[key] for p in points], "o-", ms=3, label=label, color=palette(n % palette.N))
    for ax, (key, title) in zip(axes, keys, strict=True):
        ax.set_xlabel("iteration")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        if key != "lpips":
            ax.axhline(1.0, color="k", lw=0.8, ls="--")
    # below the panels: inside one, the legend hid the newest branches
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=min(len(branches), 8), fontsize=8)
    clips = ", ".join(next(iter(branches.values()))["clips"])
    fig.suptitle(f"stage-2 branches vs the default-weights rule (above the dashed line a clip fails); bound = lower "
                 f"of the bounding weights' and bicubic-bd's; clips: {clips}", fontsize=9)
    fig.tight_layout(rect=(0, 0.1 if len(branches) > 8 else 0.06, 1, 1))
    fig.savefig(output, dpi=110)
    plt.close(fig)


def cell(x: float | None, width: int) -> str:
    """A table cell: three decimals, or ``-`` for a value not measured."""
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.3f}"


def read_branches(args: argparse.Namespace) -> dict[str, dict]:
    """Previous branches, then each run's (replacing a previous one of its label in place); outputs checked before
    anything is read, written once all is."""
    from edgevsr.io.atomic import _same, check_not_input

    if not args.runs and args.previous is None:
        raise EdgeVSRError("nothing to draw: give LABEL=RUN_DIR arguments, --previous FILE.json, or both")
    specs, offsets = [], {}
    for given in args.runs:
        spec, offset = split_iteration(given)
        specs.append(spec)
        offsets[spec.partition("=")[0]] = offset
    runs = labelled_runs(specs, args.output, args.json, run_files=("val.csv", "train.csv", "bound.json"))
    if args.previous is not None:  # the figure would replace it; the JSON may (the new one holds its branches)
        check_not_input(args.output, [args.previous])
    branches = previous_branches(args.previous) if args.previous is not None else {}
    for label, run in runs.items():  # its run folder may be gone: the JSON is then its only copy
        if label in branches and not _same(Path(branches[label]["run"]), run):
            raise EdgeVSRError(f"{args.previous}: branch {label!r} is run {branches[label]['run']}, not {run}; give "
                               "the new run another label (the branch would be replaced)")
    for label, run in runs.items():
        branches[label] = branch(run, offsets[label])
    if not branches:
        raise EdgeVSRError(f"{args.previous}: holds no branches; nothing to draw")
    write_outputs(args.output, args.json, plot, branches)
    return branches


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", help="LABEL=RUN_DIR, or LABEL=RUN_DIR@ITERATION for a run that continues a "
                    "line from that iteration")
    ap.add_argument("-o", "--output", type=Path, required=True, help="PNG")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--previous", type=Path, help="an earlier --json of this script: its branches are drawn first "
                    "and written again")
    args = ap.parse_args(argv)
    try:
        branches = read_branches(args)
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for label, b in branches.items():
        offset = f", from the line's iteration {b['iteration_offset']}" if b.get("iteration_offset") else ""
        print(f"{label}: {b['run']}{offset}" + (f"; bound: {b['bound_source']}" if b.get("bound_source") else ""))
        print(f"  {'iteration':>9} {'LPIPS':>6} {'PSNR-Y':>7} {'tOF worst':>18} {'tLP100 worst':>22}  failing")
        for p in b["points"]:
            print(f"  {p['iteration']:>9} {cell(p['lpips'], 6)} {cell(p['psnr_y'], 7)} "
                  f"{cell(p['worst_tof_ratio'], 6)} {(p['worst_tof_clip'] or '-')[:11]:>11} "
                  f"{cell(p['worst_tlp100_ratio'], 6)} {(p['worst_tlp100_clip'] or '-')[:15]:>15}  {len(p['failing'])}")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "plot_stage2_search")
