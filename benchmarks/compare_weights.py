"""Thin wrapper kept for existing commands: the tool is `edgevsr compare-weights` (edgevsr/cli/compare_weights_cmd.py).

    python benchmarks/compare_weights.py --model egvsr --weights egvsr-stage1 --weights egvsr-stage2 \
        --clips data/train-v2/tree data/train-v2/bikes data/train-v2/cup ../shared/data/basketballpass \
        --frames 100 -o benchmarks/results/stage2_vs_stage1.json

is ``edgevsr compare-weights CLIP... --model M --weights W1 --weights W2 --frames N -o OUT.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgevsr.cli.compare_weights_cmd import compare_weights, markdown_table, print_row, write_report
from edgevsr.errors import EdgeVSRError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Weights side by side on held-out clips (see edgevsr compare-weights).")
    ap.add_argument("--model", default="egvsr")
    ap.add_argument("--weights", action="append", required=True, help="shipped name or path; first = reference")
    ap.add_argument("--clips", nargs="+", type=Path, required=True, help="folders of GT frames")
    ap.add_argument("--frames", type=int, default=100, help="first N frames of each clip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    report = compare_weights(args.model, args.weights, args.clips, args.frames, args.threads, on_row=print_row)
    print("\n" + markdown_table(report))
    write_report(report, args.output, " ".join(["python", *sys.argv]))
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
