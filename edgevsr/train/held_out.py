"""The held-out table of a weight card, from an ``edgevsr compare-weights`` JSON.

    python -m edgevsr.train.held_out compare.json                                   # markdown rows
    python -m edgevsr.train.held_out compare.json --weights NAME --card edgevsr/weights/files/NAME.json

Each cell: PSNR-Y gain over bicubic-bd (dB) / LPIPS ratio / tOF ratio / tLP100 ratio to bicubic-bd / FNet
endpoint error to the DIS teacher (LR px). ``--card`` writes the weights' per-clip figures into the card's
``held_out_vs_bicubic_bd`` (with the command and JSON they came from), the card beside its safetensors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgevsr.errors import EdgeVSRError

KEYS = ("psnr_y", "lpips", "tof", "tlp100")
BD = "bicubic-bd"
WHAT = ("every held-out clip, first {frames} frames, BD x4, TecoGAN metric definitions, FP16 tensors as shipped; "
        "bicubic-bd measured in the same run (issue 26 targets: stage 1 PSNR-Y gain >= +1.5 dB and tOF <= 0.7x; the "
        "default PSNR-Y gain >= +1.0 dB, LPIPS, tOF and tLP100 <= 0.5x, 0.8x and 0.8x); "
        "flow_epe = FNet endpoint error to an OpenCV DIS teacher in LR px "
        "(a collapsed FNet's error equals the motion)")


def read_report(path: Path) -> dict:
    """A compare-weights JSON; anything else is a one-line error."""
    if not path.is_file():
        raise EdgeVSRError(f"{path}: not found")
    try:
        report = json.loads(path.read_text())
    except ValueError as exc:
        raise EdgeVSRError(f"{path}: not JSON ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise EdgeVSRError(f"{path}: not an `edgevsr compare-weights` result (no rows)")
    return report


def cell(r: dict) -> str:
    b = r["vs_bicubic_bd"]
    parts = [f"{b['psnr_y_db']:+.2f}"] + [f"{b[f'{k}_ratio']:.2f}" if b.get(f"{k}_ratio") else "-" for k in KEYS[1:]]
    parts.append(f"{r['flow_epe']:.2f}" if r.get("flow_epe") is not None else "-")
    return " / ".join(parts)


def labels(report: dict) -> list[str]:
    """The weights compared (bicubic-bd left out), in report order."""
    return [w for w in dict.fromkeys(r["weights"] for r in report["rows"]) if w != BD]


def rows_of(report: dict, weights: str) -> list[dict]:
    return [r for r in report["rows"] if r["weights"] == weights]


def markdown(report: dict) -> str:
    """One markdown row per weights, one column per clip."""
    clips = list(dict.fromkeys(r["clip"] for r in report["rows"]))
    lines = ["| weights | " + " | ".join(clips) + " |", "|---|" + "---|" * len(clips)]
    for w in labels(report):
        by_clip = {r["clip"]: r for r in rows_of(report, w)}
        lines.append(f"| {w} | " + " | ".join(cell(by_clip[c]) if c in by_clip else "-" for c in clips) + " |")
    return "\n".join(lines)


def card_table(report: dict, weights: str, json_path: str) -> dict:
    """The card's ``held_out_vs_bicubic_bd``: per clip the weights' metrics, bicubic-bd's and the ratios."""
    clips = {}
    for r in rows_of(report, weights):
        clips[r["clip"]] = {**{k: r[k] for k in KEYS if k in r},
                            **{f"{k}_bicubic_bd": r[f"{k}_bicubic_bd"] for k in KEYS if f"{k}_bicubic_bd" in r},
                            "flow_epe": r.get("flow_epe"), "vs_bicubic_bd": r["vs_bicubic_bd"]}
    return {"what": WHAT.format(frames=report["frames"]), "command": report["command"], "json": json_path,
            "clips": clips}


def write_card(result: Path, weights: str, card: Path) -> None:
    """Write ``weights``' per-clip figures of ``result`` into the weight card ``card`` (atomically)."""
    from edgevsr.io.atomic import atomic_path

    report = read_report(result)
    if not card.is_file():
        raise EdgeVSRError(f"{card}: not found")
    if weights not in labels(report):
        raise EdgeVSRError(f"{result}: no weights {weights!r} (has: {', '.join(labels(report))})")
    doc = json.loads(card.read_text())
    doc["held_out_vs_bicubic_bd"] = card_table(report, weights, str(result))
    with atomic_path(card, overwrite=True) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgevsr.train.held_out", description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path, help="an `edgevsr compare-weights` JSON")
    ap.add_argument("--weights", help="the weights label in the JSON (as given to compare-weights --weights)")
    ap.add_argument("--card", type=Path, help="weight card (.json) to write the table into")
    args = ap.parse_args(argv)
    try:
        if args.card is not None and args.weights is None:
            raise EdgeVSRError("--card needs --weights NAME (which weights of the result the card is for)")
        print(markdown(read_report(args.result)))
        if args.card is not None:
            write_card(args.result, args.weights, args.card)
            print(f"wrote held_out_vs_bicubic_bd of {args.weights} into {args.card}")
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "edgevsr.train.held_out")
