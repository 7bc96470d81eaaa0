"""Shipped or candidate weights side by side on every held-out clip: the evidence behind the default weights.

For each clip (a folder of frames; never trained on) and each weights file, PSNR-Y,
LPIPS, tOF and tLP100 (TecoGAN definitions, BD x4) of the model, next to bicubic and
bicubic on BD's grid (a `bicubic-bd` row per clip), per clip (an average can hide one
clip getting worse), each weights' ratio to the first one (the reference, e.g. stage 1)
and to bicubic-bd (issue 16's targets: PSNR-Y gain, tOF and LPIPS ratios), and the
recurrence's warp-error diagnostic (docs/training.md).

    python benchmarks/compare_weights.py --model egvsr --weights egvsr-stage1 --weights egvsr-stage2 \
        --clips data/train-v2/tree data/train-v2/bikes data/train-v2/cup ../shared/data/basketballpass \
        --frames 100 -o benchmarks/results/stage2_vs_stage1.json

Prints a table and writes JSON. Weights are a shipped name or a .safetensors path
(paths are rounded to FP16 first, as `edgevsr ship-weights` would ship them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path
from edgevsr.train.ship import round_to_fp16
from edgevsr.train.validate import evaluate, load_val_clips, make_scorer
from edgevsr.weights import load_model, shipped_weights

METRICS = ("psnr_y", "lpips", "tof", "tlp100")
BD = "bicubic-bd"


def load(model: str, weights: str) -> tuple[torch.nn.Module, str]:
    net, source = load_model(model, weights)
    if weights not in shipped_weights():
        round_to_fp16(net)
        source += " (rounded to FP16)"
    return net, source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="egvsr")
    ap.add_argument("--weights", action="append", required=True, help="shipped name or path; first = reference")
    ap.add_argument("--clips", nargs="+", type=Path, required=True, help="folders of GT frames")
    ap.add_argument("--frames", type=int, default=100, help="first N frames of each clip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    scorer = make_scorer()
    clips = {}
    for folder in args.clips:
        (c,) = load_val_clips(folder.parent, [folder.name], args.frames)
        clips[folder.name] = c
    rows = []
    for w in args.weights:
        net, source = load(args.model, w)
        for name, clip in clips.items():
            t0 = time.perf_counter()
            res = evaluate(net, [clip], torch.device("cpu"), scorer)
            if not any(r["weights"] == BD and r["clip"] == name for r in rows):
                rows.append({"weights": BD, "source": "aligned bicubic (BD sampling grid)", "clip": name,
                             "frames": int(clip.hr.shape[0]),
                             **{k: round(res[f"{k}_bicubic_bd"], 4) for k in METRICS if f"{k}_bicubic_bd" in res}})
            rows.append({"weights": w, "source": source, "clip": name, "frames": int(clip.hr.shape[0]),
                         "hr_size": f"{clip.hr.shape[-1]}x{clip.hr.shape[-2]}",
                         **{k: round(v, 4) for k, v in res.items() if "@" not in k},
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(f"{w:24s} {name:16s} " + " ".join(f"{k} {rows[-1].get(k, float('nan')):.4f}" for k in METRICS),
                  flush=True)
    ref = args.weights[0]

    def ratio(a, b):
        return round(a / b, 4) if a is not None and b else None

    for r in rows:
        if r["weights"] == BD:
            continue
        base = next(x for x in rows if x["weights"] == ref and x["clip"] == r["clip"])
        bd = next(x for x in rows if x["weights"] == BD and x["clip"] == r["clip"])
        r["vs_reference"] = {"psnr_y_db": round(r["psnr_y"] - base["psnr_y"], 3),
                             **{f"{k}_ratio": ratio(r.get(k), base.get(k)) for k in METRICS[1:]}}
        r["vs_bicubic_bd"] = {"psnr_y_db": round(r["psnr_y"] - bd["psnr_y"], 3),
                              **{f"{k}_ratio": ratio(r.get(k), bd.get(k)) for k in METRICS[1:]}}

    def pct(x):
        return f"{100 * (x - 1):+.0f} %" if x is not None else "-"

    def num(r, k, fmt):
        return format(r[k], fmt) if r.get(k) is not None else "-"

    print(f"\n| weights | clip | frames | PSNR-Y | vs bicubic-bd | LPIPS | x bicubic-bd | tOF | x bicubic-bd | tLP100 "
          f"| warp err (out / gt / none) | PSNR-Y vs {ref} | LPIPS vs {ref} | tOF vs {ref} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        v, b = r.get("vs_reference"), r.get("vs_bicubic_bd")
        warp = (f"{r['warp_err']:.2f} / {r['warp_err_gt']:.2f} / {r['warp_err_zero']:.2f}" if "warp_err" in r
                else "-")
        print(f"| {r['weights']} | {r['clip']} | {r['frames']} | {r['psnr_y']:.2f} | "
              + (f"{b['psnr_y_db']:+.2f} | " if b else "- | ") + f"{num(r, 'lpips', '.3f')} | "
              + (f"{b['lpips_ratio']:.2f} | " if b and b["lpips_ratio"] else "- | ") + f"{num(r, 'tof', '.3f')} | "
              + (f"{b['tof_ratio']:.2f} | " if b else "- | ") + f"{num(r, 'tlp100', '.3f')} | {warp} | "
              + (f"{v['psnr_y_db']:+.2f} dB | {pct(v['lpips_ratio'])} | {pct(v['tof_ratio'])} |" if v
                 else "- | - | - |"))
    report = {"model": args.model, "reference": ref, "degradation": "BD x4", "frames": args.frames,
              "command": " ".join(["python", *sys.argv]), "torch": torch.__version__, "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
