"""Is it the flow or the SRNet? PSNR-Y / tOF of recurrent weights on a clip with FNet's flow, and with it forced to 0.

    python benchmarks/zero_flow_check.py --clip tree --weights egvsr-lite-stage1 --weights OTHER.safetensors

A file whose SRNet ignores the previous frame scores the same both ways; one that uses it changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgevsr.train.validate import evaluate, load_val_clips, make_scorer  # noqa: E402
from edgevsr.weights import load_model  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="egvsr-lite")
    ap.add_argument("--weights", action="append", required=True, help="shipped name or path (repeatable)")
    ap.add_argument("--data", type=Path, default=Path("data/train-v3"))
    ap.add_argument("--clip", default="tree")
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(2)
    clips = load_val_clips(args.data, [args.clip], args.frames, "BD")
    scorer = make_scorer(False)
    print(f"| weights | {args.clip} PSNR-Y (flow) | tOF (flow) | PSNR-Y (zero flow) | tOF (zero flow) |")
    print("|---|---|---|---|---|")
    for w in args.weights:
        model, _ = load_model(args.model, w)
        model.eval()
        with_flow = evaluate(model, clips, torch.device("cpu"), scorer)
        model.fnet.forward = lambda cur, _prev: cur.new_zeros(cur.shape[0], 2, *cur.shape[2:])
        zero = evaluate(model, clips, torch.device("cpu"), scorer)
        print(f"| {w} | {with_flow['psnr_y']:.3f} | {with_flow['tof']:.4f} | {zero['psnr_y']:.3f} | "
              f"{zero['tof']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
