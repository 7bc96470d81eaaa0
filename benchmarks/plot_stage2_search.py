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

from pathlib import Path

from plot_runs_vs_time import plot_runs_main, val_rows  # sibling script: benchmarks/ is on the path

from edgevsr.errors import EdgeVSRError
from edgevsr.train.default_weights_rule import TEMPORAL, judge
from edgevsr.train.hours import kept_validations, run_hours


def branch(run: Path) -> dict:
    """Per kept validation: mean LPIPS and, per temporal metric, the worst clip's ratio to its bound."""
    path = run / "val.csv"
    rows = val_rows(run)
    clips = sorted({k.split("@")[1] for k in (rows[0] if rows else {}) if k.startswith("tlp100@")})
    start = [r for r in rows if int(float(r["iteration"])) == 0]
    if not clips or not start:
        raise EdgeVSRError(f"{path}: needs tlp100@CLIP columns (val_lpips) and the iteration-0 validation of the "
                           "stage-1 weights the run started from")
    reference, bicubic_bd = {}, {}
    for m in TEMPORAL:
        for c in clips:
            reference[f"{m}@{c}"] = float(start[0][f"{m}@{c}"])
            bicubic_bd[f"{m}@{c}"] = float(start[0][f"{m}_bicubic_bd@{c}"])
    bound = {k: v.bound for k, v in judge({}, reference, bicubic_bd).items()}
    points = []
    for row, hours in kept_validations(run_hours(run), rows):
        p = {"iteration": int(float(row["iteration"])), "hours": hours, "lpips": float(row["lpips"]),
             "psnr_y": float(row["psnr_y"])}
        # a clip this validation did not measure is left out, neither passing nor failing
        verdicts = {k: v for k, v in judge({k: float(row[k]) for k in reference if row.get(k)}, reference,
                                           bicubic_bd).items() if v.value is not None}
        ratios = {k: v.ratio for k, v in verdicts.items()}
        for m in TEMPORAL:
            worst = max((k for k in ratios if k.startswith(f"{m}@")), key=ratios.get)
            p[f"worst_{m}_ratio"], p[f"worst_{m}_clip"] = ratios[worst], worst.split("@")[1]
        p["failing"] = sorted(k for k, v in verdicts.items() if v.fails)
        points.append(p)
    return {"run": str(run), "clips": clips, "bounds": bound, "points": points}


def plot(branches: dict[str, dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    keys = [("lpips", "mean LPIPS (lower is better)"),
            ("worst_tof_ratio", "worst clip's tOF / its bound"),
            ("worst_tlp100_ratio", "worst clip's tLP100 / its bound")]
    for label, b in branches.items():
        its = [p["iteration"] for p in b["points"]]
        for ax, (key, _) in zip(axes, keys, strict=True):
            ax.plot(its, [p[key] for p in b["points"]], "o-", ms=3, label=label)
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


def main(argv: list[str] | None = None) -> int:
    branches = plot_runs_main(argv, __doc__.split("\n\n")[0], branch, plot)
    if branches is None:
        return 2
    for label, b in branches.items():
        print(f"{label}: {b['run']}")
        print(f"  {'iteration':>9} {'LPIPS':>6} {'PSNR-Y':>7} {'tOF worst':>18} {'tLP100 worst':>22}  failing")
        for p in b["points"]:
            print(f"  {p['iteration']:>9} {p['lpips']:>6.3f} {p['psnr_y']:>7.3f} "
                  f"{p['worst_tof_ratio']:>6.3f} {p['worst_tof_clip'][:11]:>11} "
                  f"{p['worst_tlp100_ratio']:>6.3f} {p['worst_tlp100_clip'][:15]:>15}  {len(p['failing'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
