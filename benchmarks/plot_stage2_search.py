"""Stage-2 search branches against the default-weights rule, side by side: LPIPS and each temporal metric's
worst clip relative to its bound, per validation.

    python benchmarks/plot_stage2_search.py t8=runs/egvsr-campaign-stage2-t8 tw=runs/egvsr-campaign-stage2-tw \
        -o docs/experiments/img/stage2_search.png --json benchmarks/results/stage2_search.json

The rule (``edgevsr.train.default_weights_rule``, as ``python -m edgevsr.train.temporal_gate`` and
``bicubic_bd_bound`` in training apply it): on every clip, tOF and tLP100 no worse than the stage-1 weights the run
started from (the run's iteration-0 validation) nor than bicubic-bd's. A ratio of a clip's value to the lower of
those two bounds above 1 fails it; the figure draws, per branch, the worst such ratio over the validation clips (the
clip is named in the JSON), beside mean LPIPS. An average over clips would hide the one clip that shimmers. Rows of
branches a resume discarded are dropped.
"""

from __future__ import annotations

import math
from pathlib import Path

from plot_runs_vs_time import plot_runs_main, val_rows, value  # sibling script: benchmarks/ is on the path

from edgevsr.errors import EdgeVSRError
from edgevsr.train.default_weights_rule import TEMPORAL, judge
from edgevsr.train.hours import kept_validations, run_hours


def branch(run: Path) -> dict:
    """Per kept validation: mean LPIPS and, per temporal metric, the worst clip's ratio to its bound. A metric no
    clip of a validation measured has no worst clip (None); a value that is not finite (a diverged generator) is
    the worst, so the figure never draws a branch under its bound while one of its clips is NaN."""
    path = run / "val.csv"
    rows = val_rows(run)
    lines = {id(r): n for n, r in enumerate(rows, 2)}
    clips = sorted({k.split("@")[1] for k in (rows[0] if rows else {}) if k.startswith("tlp100@")})
    start = [r for r in rows if int(float(r["iteration"])) == 0]
    if not clips or not start:
        raise EdgeVSRError(f"{path}: needs tlp100@CLIP columns (val_lpips) and the iteration-0 validation of the "
                           "stage-1 weights the run started from")
    reference, bicubic_bd = {}, {}
    for m in TEMPORAL:
        for c in clips:
            for into, key in ((reference, f"{m}@{c}"), (bicubic_bd, f"{m}_bicubic_bd@{c}")):
                into[f"{m}@{c}"] = v = value(path, lines[id(start[0])], start[0], key)
                if not (math.isfinite(v) and v > 0):
                    raise EdgeVSRError(f"{path}: line {lines[id(start[0])]}: {key} is {v} at the iteration-0 "
                                       "validation: no bound to judge the branch against")
    bound = {k: v.bound for k, v in judge({}, reference, bicubic_bd).items()}
    points = []
    for row, hours in kept_validations(run_hours(run), rows):

        def measured(key: str, row: dict = row) -> float | None:
            return None if row.get(key) == "" else value(path, lines[id(row)], row, key)

        p = {"iteration": int(float(row["iteration"])), "hours": hours, "lpips": measured("lpips"),
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
    return {"run": str(run), "clips": clips, "bounds": bound, "points": points}


def own_points(points: list[dict], drawn: set[tuple]) -> list[dict]:
    """A branch's points less those an earlier-drawn branch already drew (a branch's run folder is a copy of its
    parent's, history included), keeping the last shared one so the branch starts where it left its parent.
    ``drawn`` gains this branch's points. Without this the last branch listed covers every line from 0."""
    keyed = [(p["iteration"], p["lpips"], p["worst_tof_ratio"], p["worst_tlp100_ratio"]) for p in points]
    own = [i for i, k in enumerate(keyed) if k not in drawn]
    drawn.update(keyed)
    if not own:
        return points
    start = own[0] - 1 if own[0] > 0 else 0
    return [points[start]] + [points[i] for i in own if i != start]


def plot(branches: dict[str, dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    keys = [("lpips", "mean LPIPS (lower is better)"),
            ("worst_tof_ratio", "worst clip's tOF / its bound"),
            ("worst_tlp100_ratio", "worst clip's tLP100 / its bound")]
    drawn: set[tuple] = set()
    for label, b in branches.items():
        points = own_points(b["points"], drawn)
        its = [p["iteration"] for p in points]
        for ax, (key, _) in zip(axes, keys, strict=True):
            ax.plot(its, [p[key] for p in points], "o-", ms=3, label=label)
    for ax, (key, title) in zip(axes, keys, strict=True):
        ax.set_xlabel("iteration")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        if key != "lpips":
            ax.axhline(1.0, color="k", lw=0.8, ls="--")
    axes[0].legend(fontsize=8)
    clips = ", ".join(next(iter(branches.values()))["clips"])
    fig.suptitle(f"stage-2 branches vs the default-weights rule (above the dashed line a clip fails); bound = lower "
                 f"of the starting weights' and bicubic-bd's; clips: {clips}", fontsize=9)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def _f(x: float | None, width: int) -> str:
    """A table cell: three decimals, or ``-`` for a value not measured."""
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.3f}"


def main(argv: list[str] | None = None) -> int:
    branches = plot_runs_main(argv, __doc__.split("\n\n")[0], branch, plot)
    if branches is None:
        return 2
    for label, b in branches.items():
        print(f"{label}: {b['run']}")
        print(f"  {'iteration':>9} {'LPIPS':>6} {'PSNR-Y':>7} {'tOF worst':>18} {'tLP100 worst':>22}  failing")
        for p in b["points"]:
            print(f"  {p['iteration']:>9} {_f(p['lpips'], 6)} {_f(p['psnr_y'], 7)} "
                  f"{_f(p['worst_tof_ratio'], 6)} {(p['worst_tof_clip'] or '-')[:11]:>11} "
                  f"{_f(p['worst_tlp100_ratio'], 6)} {(p['worst_tlp100_clip'] or '-')[:15]:>15}  {len(p['failing'])}")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "plot_stage2_search")
