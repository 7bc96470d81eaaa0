"""Stage-0 runs side by side: mean FNet endpoint error to the DIS teacher on the validation clips per iteration.

    python benchmarks/plot_stage0_runs.py LABEL=RUN_DIR [LABEL=RUN_DIR ...] -o docs/img/stage0_runs.png

Each run's ``val.csv`` (written by ``edgevsr train`` in stage 0) gives ``flow_epe`` (mean over the clips) and
``flow_epe_zero@CLIP`` (what zero flow scores); the dotted line is zero flow's mean, the plateau a collapsed FNet
sits on. ``--offset LABEL=N`` shifts a run that continued another one (its iteration 0 is the other's N).
Prints a table and writes the curves as JSON beside the PNG.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def read_run(run_dir: Path) -> tuple[list[int], list[float], float]:
    path = run_dir / "val.csv"
    if not path.is_file():
        raise SystemExit(f"error: {path}: not found (not a run directory?)")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    zero_keys = [k for k in (rows[0] if rows else {}) if k.startswith("flow_epe_zero@")]
    if not rows or "flow_epe" not in rows[0] or not zero_keys:
        raise SystemExit(f"error: {path}: no flow_epe / flow_epe_zero@CLIP columns (not a stage-0 run?)")
    zero = sum(float(rows[0][k]) for k in zero_keys) / len(zero_keys)
    return [int(float(r["iteration"])) for r in rows], [float(r["flow_epe"]) for r in rows], zero


def pair(spec: str, what: str) -> tuple[str, str]:
    label, sep, value = spec.partition("=")
    if not sep or not label or not value:
        raise SystemExit(f"error: {spec!r}: expected {what}")
    return label, value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR")
    p.add_argument("--offset", action="append", default=[], metavar="LABEL=N")
    p.add_argument("-o", "--output", required=True, help="PNG path (the JSON goes beside it)")
    a = p.parse_args()
    out = Path(a.output)
    if out.suffix.lower() != ".png":
        raise SystemExit(f"error: {out}: the figure is written as PNG; name it .png (the JSON goes beside it)")
    offsets = {}
    for spec in a.offset:
        label, n = pair(spec, "LABEL=N (iterations)")
        if not n.isdigit():
            raise SystemExit(f"error: {spec!r}: the offset must be a whole number of iterations")
        offsets[label] = int(n)
    curves = {}
    for spec in a.runs:
        label, run = pair(spec, "LABEL=RUN_DIR")
        its, epe, zero = read_run(Path(run))
        curves[label] = {"run": run, "iteration": [i + offsets.get(label, 0) for i in its], "flow_epe": epe,
                         "zero_flow_epe": zero, "best": min(epe)}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, c in curves.items():
        ax.plot(c["iteration"], c["flow_epe"], "o-", ms=3, label=label)
    zero = next(iter(curves.values()))["zero_flow_epe"]
    ax.axhline(zero, ls=":", color="k", label=f"zero flow ({zero:.3f})")
    ax.set_xlabel("stage-0 iteration")
    ax.set_ylabel("FNet EPE to DIS, LR px (mean of val clips)")
    ax.set_ylim(0, max(1.6, 1.1 * zero))  # the lite run peaks at 2.6: clipped
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    out.with_suffix(".json").write_text(json.dumps(curves, indent=1))
    print(f"{'run':<32} {'vals':>5} {'best EPE':>9} {'last EPE':>9} {'zero flow':>9}")
    for label, c in curves.items():
        print(f"{label:<32} {len(c['flow_epe']):>5} {c['best']:>9.3f} {c['flow_epe'][-1]:>9.3f} "
              f"{c['zero_flow_epe']:>9.3f}")
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
