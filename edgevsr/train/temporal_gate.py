"""The rule that protects time: GAN weights become a model's default only if they flicker no more than the
stage-1 weights they came from, nor than bicubic on BD's grid, on every validation and test clip.

A viewer sees temporal error (shimmering detail on fine texture) before a small PSNR or LPIPS difference, and
an average over clips hides the one clip that shimmers. So the gate is per clip, per temporal metric (tOF and
tLP100), with no tolerance: the measurements are deterministic for given weights and frames.

    python -m edgevsr.train.temporal_gate benchmarks/results/temporal_gate_egvsr.json --candidate egvsr-stage2

reads an ``edgevsr compare-weights`` report (the reference there is the stage-1 weights) and prints each
violation; exit status 0 when the candidate passes, 1 when it does not, 2 on a bad report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.train.default_weights_rule import TEMPORAL, judge

BD = "bicubic-bd"


def violations(report: dict, candidate: str, reference: str | None = None) -> list[str]:
    """Every (clip, metric) where ``candidate`` is temporally worse than ``reference`` or bicubic-bd: the
    default-weights rule (:mod:`edgevsr.train.default_weights_rule`) with no tolerance, one line per bound exceeded."""
    return [line for _, line in exceeded(report, candidate, reference)]


def exceeded(report: dict, candidate: str, reference: str | None = None) -> list[tuple[tuple[str, str], str]]:
    """``violations`` with the (clip, metric) pair each line is about: a pair over both bounds has two lines, and
    the verdict counts pairs."""
    rows = report.get("rows") if isinstance(report, dict) else None
    if not isinstance(rows, list) or not rows:
        raise EdgeVSRError("report has no rows (expected an `edgevsr compare-weights` JSON)")
    reference = reference or report.get("reference")
    by = {}
    for n, r in enumerate(rows):
        if not (isinstance(r, dict) and isinstance(r.get("weights"), str) and isinstance(r.get("clip"), str)):
            raise EdgeVSRError(f"rows[{n}] is not a row with weights and clip names")
        if (r["weights"], r["clip"]) in by:  # only one of the two would be judged
            raise EdgeVSRError(f"two rows for weights {r['weights']!r} on clip {r['clip']!r}")
        by[(r["weights"], r["clip"])] = r
    clips = [r["clip"] for r in rows if r["weights"] == candidate]
    if not clips:
        raise EdgeVSRError(f"no rows for {candidate!r}; weights in the report: "
                           f"{', '.join(sorted({r['weights'] for r in rows}))}")
    for clip in clips:  # every value the rule needs, or the first one missing named
        cand = by[(candidate, clip)]
        for base_name in (reference, BD):
            base = by.get((base_name, clip))
            if base is None:
                raise EdgeVSRError(f"no {base_name!r} row for clip {clip!r}")
            for k in TEMPORAL:
                if cand.get(k) is None or base.get(k) is None:
                    raise EdgeVSRError(f"clip {clip!r}: {k} missing (measure with LPIPS weights for tlp100)")
                if not all(isinstance(r[k], int | float) and not isinstance(r[k], bool) for r in (cand, base)):
                    raise EdgeVSRError(f"clip {clip!r}: {k} is not a number")
                if not all(math.isfinite(r[k]) for r in (cand, base)):
                    raise EdgeVSRError(f"clip {clip!r}: {k} is not a finite number (a diverged or damaged output)")
    pairs = [(clip, k) for clip in clips for k in TEMPORAL]
    verdicts = judge({(c, k): by[(candidate, c)][k] for c, k in pairs},
                     {(c, k): by[(reference, c)][k] for c, k in pairs},
                     {(c, k): by[(BD, c)][k] for c, k in pairs})
    bounds = ((reference, lambda v: v.over_reference), (BD, lambda v: v.over_bicubic_bd))
    out = []
    for clip in clips:
        for base_name, exceeds in bounds:
            for k in TEMPORAL:
                v = verdicts[(clip, k)]
                if exceeds(v):
                    base = by[(base_name, clip)][k]
                    more = f"+{100 * (v.value / base - 1):.0f} %" if base > 0 else "from 0"
                    out.append(((clip, k), f"{clip}: {k} {v.value:.3f} > {base_name} {base:.3f} ({more})"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="an `edgevsr compare-weights` JSON")
    ap.add_argument("--candidate", required=True, help="the GAN weights (a --weights value of the report)")
    ap.add_argument("--reference", help="the stage-1 weights (default: the report's reference)")
    args = ap.parse_args(argv)
    try:
        report = json.loads(args.report.read_text())
        found = exceeded(report, args.candidate, args.reference)
    except (OSError, ValueError, EdgeVSRError) as exc:
        print(f"error: {args.report}: {exc}", file=sys.stderr)
        return 2
    for _, line in found:
        print(line)
    pairs = len({pair for pair, _ in found})
    verdict = "passes" if not found else f"fails on {pairs} clip/metric pairs ({len(found)} bounds exceeded)"
    print(f"{args.candidate}: {verdict} the temporal gate")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
