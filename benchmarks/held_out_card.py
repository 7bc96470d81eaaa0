"""Issue-16 table from a ``compare_weights.py`` JSON: docs row per weights, and (``--card``) the weight card's copy.

    python benchmarks/held_out_card.py benchmarks/results/issue16_shipped_lite.json            # markdown rows
    python benchmarks/held_out_card.py RESULT.json --weights FILE --card edgevsr/weights/files/NAME.json

Each cell: PSNR-Y gain over bicubic-bd (dB) / LPIPS ratio / tOF ratio / tLP100 ratio to bicubic-bd / FNet
endpoint error to the DIS teacher (LR px). ``--card`` writes the weights' per-clip figures into the card's
``held_out_vs_bicubic_bd`` (with the command and JSON they came from), the card beside its safetensors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEYS = ("psnr_y", "lpips", "tof", "tlp100")
WHAT = ("every held-out clip, first {frames} frames, BD x4, TecoGAN metric definitions, FP16 tensors as shipped; "
        "bicubic-bd measured in the same run (issue 16 targets: stage-1 PSNR-Y gain >= +1.5 dB, default >= +1.2 dB, "
        "tOF <= 0.7x, default LPIPS <= 0.6x); flow_epe = FNet endpoint error to an OpenCV DIS teacher in LR px "
        "(a collapsed FNet's error equals the motion)")


def cell(r: dict) -> str:
    b = r["vs_bicubic_bd"]
    parts = [f"{b['psnr_y_db']:+.2f}"] + [f"{b[f'{k}_ratio']:.2f}" if b.get(f"{k}_ratio") else "-" for k in KEYS[1:]]
    parts.append(f"{r['flow_epe']:.2f}" if r.get("flow_epe") is not None else "-")
    return " / ".join(parts)


def rows_of(report: dict, weights: str) -> list[dict]:
    return [r for r in report["rows"] if r["weights"] == weights]


def card_table(report: dict, weights: str, json_path: str) -> dict:
    clips = {}
    for r in rows_of(report, weights):
        clips[r["clip"]] = {**{k: r[k] for k in KEYS if k in r},
                            **{f"{k}_bicubic_bd": r[f"{k}_bicubic_bd"] for k in KEYS if f"{k}_bicubic_bd" in r},
                            "flow_epe": r.get("flow_epe"), "vs_bicubic_bd": r["vs_bicubic_bd"]}
    return {"what": WHAT.format(frames=report["frames"]), "command": report["command"], "json": json_path,
            "clips": clips}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path)
    ap.add_argument("--weights", help="the weights label in the JSON (as given to compare_weights --weights)")
    ap.add_argument("--card", type=Path, help="weight card (.json) to write the table into")
    args = ap.parse_args()
    for path in (args.result, args.card):
        if path is not None and not path.is_file():
            sys.exit(f"error: {path}: not found")
    try:
        report = json.loads(args.result.read_text())
    except ValueError as exc:
        sys.exit(f"error: {args.result}: not JSON ({exc})")
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        sys.exit(f"error: {args.result}: not a compare_weights.py result (no rows)")
    labels = [w for w in dict.fromkeys(r["weights"] for r in report["rows"]) if w != "bicubic-bd"]
    clips = list(dict.fromkeys(r["clip"] for r in report["rows"]))
    print("| weights | " + " | ".join(clips) + " |\n|---|" + "---|" * len(clips))
    for w in labels:
        by_clip = {r["clip"]: r for r in rows_of(report, w)}
        print(f"| {w} | " + " | ".join(cell(by_clip[c]) if c in by_clip else "-" for c in clips) + " |")
    if args.card:
        if args.weights not in labels:
            sys.exit(f"error: {args.result}: no weights {args.weights!r} (has: {', '.join(labels)})")
        card = json.loads(args.card.read_text())
        card["held_out_vs_bicubic_bd"] = card_table(report, args.weights, str(args.result))
        tmp = args.card.with_name(f".{args.card.name}.tmp")
        tmp.write_text(json.dumps(card, indent=2))
        tmp.replace(args.card)
        print(f"wrote held_out_vs_bicubic_bd of {args.weights} into {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
