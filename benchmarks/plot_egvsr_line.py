"""A weight line's curves against its own counted training hours: stage 1, then the kept stage-2 chain.

    python benchmarks/plot_egvsr_line.py \
        --stage1 benchmarks/results/lines_vs_hours.json --stage1-line egvsr --stage1-until 4050 \
        --stage2 benchmarks/results/stage2_search.json --chain g05pp2@11700 g05pp4@14700 pp4t24 \
        -o docs/experiments/img/egvsr_line_hours.png --json benchmarks/results/egvsr_line_hours.json

Whether more hours still buy anything is read off this figure, not off iterations: the runs shared two CPU cores
with other work at changing speeds. It reads the JSON of ``plot_runs_vs_time.py`` (stage 1: mean PSNR-Y gain and
tOF ratio over bicubic-bd) and of ``plot_stage2_search.py`` (stage 2: mean LPIPS and the worst clip's tOF and
tLP100 over its bound), so run folders that went with their machines still count; the stage-1 run's
validations past the iteration stage 2 left from are drawn grey and counted in its trend. ``--stage1-until N``: the
stage-1 iteration the stage-2 line started from. ``--chain LABEL@UNTIL ... LABEL``: the stage-2 branches the kept
weights went through, each up to the iteration the next one left it at (each branch after the first must have
validated there); branches of the search off this chain spent hours too but are not drawn. ``--tail-hours H``
(default 2): whether each curve has flattened, measured over its last H hours (``tail_trend``), printed, drawn
as a shaded band with its fitted line, and written to the JSON.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from plot_runs_vs_time import write_outputs  # sibling: benchmarks/ is on the path
from plot_stage2_search import cell, is_number, previous_branches

from edgevsr.errors import EdgeVSRError
from edgevsr.train.hours import read_mapping


def stage1_points(path: Path, line: str, until: int) -> tuple[list[dict], list[dict]]:
    """The stage-1 run's validations up to iteration ``until`` (which it must have validated at), and those after
    it: the run went on past the weights stage 2 started from, and those hours count too."""
    data = read_mapping(path, expected="a JSON object of lines by label (as plot_runs_vs_time.py --json writes it)")
    if line not in data:
        raise EdgeVSRError(f"{path}: no line {line!r} (has: {', '.join(data) or 'none'})")
    points = data[line].get("points") if isinstance(data[line], dict) else None
    if not isinstance(points, list):
        raise EdgeVSRError(f"{path}: line {line!r} has no points list")
    out = []
    for n, p in enumerate(points):
        if not isinstance(p, dict) or not all(is_number(p.get(k)) for k in ("iteration", "hours", "gain_db",
                                                                            "tof_ratio")):
            raise EdgeVSRError(f"{path}: line {line!r}, point {n}: needs iteration, hours, gain_db and tof_ratio "
                               "as numbers")
        out.append({k: p[k] for k in ("iteration", "hours", "gain_db", "tof_ratio")})
    kept = [p for p in out if p["iteration"] <= until]
    if not kept or kept[-1]["iteration"] != until:
        raise EdgeVSRError(f"{path}: line {line!r} did not validate at iteration {until} (--stage1-until)")
    return kept, [p for p in out if p["iteration"] > until]


def parse_chain(specs: list[str]) -> list[tuple[str, int | None]]:
    """``LABEL@UNTIL`` for every branch but the last, ``LABEL`` (to its end) for the last."""
    chain = []
    for n, spec in enumerate(specs):
        label, sep, until = spec.rpartition("@")
        last = n == len(specs) - 1
        if last and not sep:
            chain.append((spec, None))
        elif sep and label and re.fullmatch(r"[0-9]+", until):
            chain.append((label, int(until)))
        else:
            raise EdgeVSRError(f"{spec!r}: expected LABEL@ITERATION (the iteration the next branch left it at)"
                               + ("" if not last else ", or LABEL for the last branch"))
    return chain


def stage2_points(path: Path, chain: list[tuple[str, int | None]], start_hours: float) -> list[dict]:
    """The chain's validations on one hour axis from ``start_hours``: each branch's own hours shifted so that it
    starts where the branch before left off (a branch's hours count from its own start, or its copied parent's)."""
    branches = previous_branches(path)
    out: list[dict] = []
    cut, offset = None, start_hours
    for label, until in chain:
        if label not in branches:
            raise EdgeVSRError(f"{path}: no branch {label!r} (has: {', '.join(branches)})")
        points = branches[label]["points"]
        if cut is not None:
            at = [p for p in points if p["iteration"] == cut]
            if not at:
                raise EdgeVSRError(f"{path}: branch {label!r} did not validate at {cut}, where the chain joins it")
            offset -= at[-1]["hours"]
        end = [p for p in points if p["iteration"] == until]
        if until is not None and not end:
            raise EdgeVSRError(f"{path}: branch {label!r} did not validate at {until}")
        for p in points:
            if (cut is None or p["iteration"] > cut) and (until is None or p["iteration"] <= until):
                out.append({"branch": label, "iteration": p["iteration"], "hours": offset + p["hours"],
                            **{k: p[k] for k in ("lpips", "worst_tof_ratio", "worst_tlp100_ratio")}})
        if until is not None:
            offset += end[-1]["hours"]
        cut = until
    return out


# (stage, key, +1 where higher is better and -1 where lower is, the figure's panel that draws it or None)
TRENDS = (("stage1", "gain_db", 1, 0), ("stage1", "tof_ratio", -1, None), ("stage2", "lpips", -1, 1),
          ("stage2", "worst_tof_ratio", -1, 2), ("stage2", "worst_tlp100_ratio", -1, 2))


def tail_trend(points: list[dict], key: str, window: float, better: int) -> dict | None:
    """Whether a curve still improves, as a number rather than a look: a least-squares line through its measured
    points in the last ``window`` hours, and the change that line makes across them against the scatter about it.
    ``verdict``: ``improving`` or ``worsening`` (``better``'s way or the other) when the change exceeds two
    standard deviations of the scatter, else ``flat``: more hours at this rate buy less than the curve's own noise.
    None with fewer than four points (three distinct hours) in the window; a diverged value (NaN, inf) is left out
    like one not measured."""
    pts = [(p["hours"], p[key]) for p in points if is_number(p.get(key)) and math.isfinite(p[key])]
    if not pts:
        return None
    tail = [(h, v) for h, v in pts if h >= pts[-1][0] - window]
    n = len(tail)
    if n < 4 or len({h for h, _ in tail}) < 3:  # a line through fewer hours than that says nothing of a trend
        return None
    mh, mv = sum(h for h, _ in tail) / n, sum(v for _, v in tail) / n
    var = sum((h - mh) ** 2 for h, _ in tail)
    slope = sum((h - mh) * (v - mv) for h, v in tail) / var if var else 0.0
    resid = [v - (mv + slope * (h - mh)) for h, v in tail]
    scatter = (sum(r * r for r in resid) / (n - 2)) ** 0.5
    change = slope * (tail[-1][0] - tail[0][0])
    return {"from_hours": tail[0][0], "to_hours": tail[-1][0], "points": n, "slope_per_hour": slope,
            "intercept_at_mean": mv, "mean_hours": mh, "change": change, "scatter_sd": scatter,
            "verdict": "flat" if abs(change) <= 2 * scatter else "improving" if change * better > 0 else "worsening"}


def trends(data: dict, window: float) -> dict:
    """``tail_trend`` of every drawn curve, keyed ``STAGE.KEY``."""
    curves = {"stage1": data["stage1"] + data["stage1_after"], "stage2": data["stage2"]}
    return {f"{stage}.{key}": tail_trend(curves[stage], key, window, better) for stage, key, better, _ in TRENDS}


def _nan(x: float | None) -> float:
    """A value not measured (None in the JSON) as a gap in the curve."""
    return float("nan") if x is None else x


def plot(data: dict, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s1, s2 = data["stage1"], data["stage2"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    axes[0].plot([p["hours"] for p in s1], [p["gain_db"] for p in s1], "o-", ms=3)
    after = s1[-1:] + data["stage1_after"]
    if len(after) > 1:
        axes[0].plot([p["hours"] for p in after], [p["gain_db"] for p in after], "o-", ms=3, color="0.6",
                     label="the run past it")
        axes[0].legend(fontsize=8)
    axes[0].set_ylabel("stage 1: mean PSNR-Y gain over bicubic-bd (dB)")
    h2 = [p["hours"] for p in s2]
    axes[1].plot(h2, [_nan(p["lpips"]) for p in s2], "o-", ms=3, color="tab:red")
    axes[1].set_ylabel("stage 2: mean LPIPS (lower is better)")
    axes[2].plot(h2, [_nan(p["worst_tof_ratio"]) for p in s2], "o-", ms=3, label="tOF")
    axes[2].plot(h2, [_nan(p["worst_tlp100_ratio"]) for p in s2], "s-", ms=3, label="tLP100")
    axes[2].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[2].set_ylabel("stage 2: worst clip / its bound (above 1 fails)")
    axes[2].legend(fontsize=8)
    fits = data.get("tail", {}).get("trends", {})
    for stage, key, _, panel in TRENDS:
        t = fits.get(f"{stage}.{key}")
        if panel is None or t is None:
            continue
        ax = axes[panel]
        ax.axvspan(t["from_hours"], t["to_hours"], color="0.9", zorder=0)
        fit = [t["intercept_at_mean"] + t["slope_per_hour"] * (h - t["mean_hours"])
               for h in (t["from_hours"], t["to_hours"])]
        ax.plot([t["from_hours"], t["to_hours"]], fit, "k--", lw=1)
    for ax in axes:
        ax.set_xlabel("the kept weights' own training hours (counted)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{data['line']}: stage 1 to iteration {data['stage1_until']}, then the stage-2 chain "
                 f"{' -> '.join(data['chain'])}", fontsize=9)
    fig.tight_layout()
    fig.savefig(output, dpi=110, format="png")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from edgevsr.io.atomic import check_distinct, check_output

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage1", type=Path, required=True, help="a plot_runs_vs_time.py --json file")
    ap.add_argument("--stage1-line", required=True, help="its label for the line's stage-1 run")
    ap.add_argument("--stage1-until", type=int, required=True, help="the stage-1 iteration stage 2 started from")
    ap.add_argument("--stage2", type=Path, required=True, help="a plot_stage2_search.py --json file")
    ap.add_argument("--chain", nargs="+", required=True, help="LABEL@UNTIL ... LABEL: the kept stage-2 branches")
    ap.add_argument("-o", "--output", type=Path, required=True, help="PNG")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tail-hours", type=float, default=2.0, help="the window of the flatness measure (hours)")
    args = ap.parse_args(argv)
    try:
        if not (math.isfinite(args.tail_hours) and args.tail_hours > 0):
            raise EdgeVSRError(f"--tail-hours {args.tail_hours}: expected a number of hours above 0")
        if args.output.suffix.lower() != ".png":
            raise EdgeVSRError(f"{args.output}: the figure is written as PNG (.png)")
        check_distinct(args.output, args.json)
        for out in (args.output, args.json):
            if out is not None:
                check_output(out, inputs=[args.stage1, args.stage2], existing_file_ok=True)
        s1, s1_after = stage1_points(args.stage1, args.stage1_line, args.stage1_until)
        chain = parse_chain(args.chain)
        s2 = stage2_points(args.stage2, chain, s1[-1]["hours"])
        data = {"line": args.stage1_line, "stage1_until": args.stage1_until,
                "chain": [label for label, _ in chain], "sources": [str(args.stage1), str(args.stage2)],
                "stage1": s1, "stage1_after": s1_after, "stage2": s2}
        data["tail"] = {"window_hours": args.tail_hours, "trends": trends(data, args.tail_hours)}
        write_outputs(args.output, args.json, plot, data)
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stage 1: {s1[0]['gain_db']:+.2f} -> {s1[-1]['gain_db']:+.2f} dB in {s1[-1]['hours']:.2f} h")
    print(f"  {'hours':>6} {'branch':>10} {'iteration':>9} {'LPIPS':>6} {'tOF/bound':>9} {'tLP/bound':>9}")
    for p in s2:
        print(f"  {p['hours']:>6.2f} {p['branch'][:10]:>10} {p['iteration']:>9} {cell(p['lpips'], 6)} "
              f"{cell(p['worst_tof_ratio'], 9)} {cell(p['worst_tlp100_ratio'], 9)}")
    print(f"over each curve's last {args.tail_hours:g} h (least-squares line; flat: its change within 2 sd of the "
          "scatter about it):")
    print(f"  {'curve':<25} {'hours':>11} {'n':>3} {'per hour':>9} {'change':>8} {'2 sd':>7}  verdict")
    for name, t in data["tail"]["trends"].items():
        if t is None:
            print(f"  {name:<25} fewer than four points")
            continue
        print(f"  {name:<25} {t['from_hours']:>5.2f}-{t['to_hours']:<5.2f} {t['points']:>3} "
              f"{t['slope_per_hour']:>+9.4f} {t['change']:>+8.4f} {2 * t['scatter_sd']:>7.4f}  "
              f"{t['verdict']}")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "plot_egvsr_line")
