"""What the recurrent state is worth, per clip: each model with its state as trained vs reset at every frame.

    python benchmarks/state_ablation.py --weights egvsr-stage1 --weights rrn-stage1 --frames 30 \
        data/train-v4/{bikes,pan_path,pan_grey,pan_moss,cup} ../shared/data/basketballpass \
        -o benchmarks/results/state_ablation.json

"Reset at every frame" is the condition a model sees at a scene cut (previous output zero, previous LR frame =
the current one), so the gap between the two rows is what the previous output contributes on that clip. Next to
it, each clip's motion: the mean and 90th-percentile length of the DIS optical flow between consecutive LR
frames (LR pixels per frame), the evidence for *why* a state that cannot be moved (rrn has no flow) helps on
slow footage and not on fast pans. Same clips, frames and run for every model; prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.models.base import VSRModel


class ResetEveryFrame(VSRModel):
    """``net`` with its recurrence cut: every frame is run as the first frame after a scene cut."""

    kind = "recurrent"

    def __init__(self, net: VSRModel):
        super().__init__()
        self.net = net

    def core(self, lr_curr: torch.Tensor, lr_prev: torch.Tensor, hr_prev: torch.Tensor) -> torch.Tensor:
        return self.net.core(lr_curr, lr_curr, torch.zeros_like(hr_prev))


def lr_motion(lr: torch.Tensor) -> tuple[float, float]:
    """Mean and 90th-percentile DIS flow length (LR pixels per frame) over consecutive frames of ``(T, 3, h, w)``."""
    from edgevsr.train.flow_teacher import dis_flow

    grey = (lr.float().mean(1).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    lengths = np.concatenate([np.hypot(*np.moveaxis(dis_flow(grey[i], grey[i - 1]), -1, 0)).ravel()
                              for i in range(1, len(grey))])
    return float(lengths.mean()), float(np.percentile(lengths, 90))


def main(argv: list[str] | None = None) -> int:
    import edgevsr.checks as checks
    from edgevsr.cli.compare_weights_cmd import _load, write_report
    from edgevsr.io.atomic import check_output
    from edgevsr.train.validate import evaluate, load_val_clips, make_scorer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path, help="ground-truth clips (frame folders)")
    ap.add_argument("--weights", action="append", required=True, help="shipped name (repeat for each model)")
    ap.add_argument("--model", help="model of --weights given as a path (a shipped name brings its own)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    args = ap.parse_args(argv)
    try:
        if args.frames < 2:
            raise EdgeVSRError(f"--frames {args.frames}: need at least 2 frames (motion and tOF compare neighbours)")
        checks.count(args.threads, "--threads")
        if args.output:
            check_output(args.output, inputs=args.clips, overwrite=args.overwrite)
        torch.set_num_threads(args.threads)
        nets = [(w, *_load(args.model or "rrn", w)) for w in args.weights]
        for folder in args.clips:
            if not folder.is_dir():
                raise EdgeVSRError(f"{folder}: not a folder of frames")
        clips = [load_val_clips(f.parent, [f.name], args.frames)[0] for f in args.clips]
        short = next((f for f, c in zip(args.clips, clips, strict=True) if c.lr.shape[0] < 2), None)
        if short is not None:
            raise EdgeVSRError(f"{short}: one frame; motion and tOF need at least 2")
    except EdgeVSRError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    scorer = make_scorer(lpips=False)  # PSNR-Y and tOF are all it reports
    rows = []
    print(f"{'clip':18s} {'motion':>13s} {'weights':22s} {'state':>7s} {'reset':>7s} {'gain':>6s} {'bd':>7s}")
    for clip in clips:
        mean_px, p90_px = lr_motion(clip.lr)
        for name, net, source in nets:
            t0 = time.perf_counter()
            got = {mode: evaluate(m, [clip], torch.device("cpu"), scorer)
                   for mode, m in (("state", net), ("reset", ResetEveryFrame(net)))}
            row = {"clip": clip.name, "frames": int(clip.hr.shape[0]), "motion_mean_lr_px": round(mean_px, 2),
                   "motion_p90_lr_px": round(p90_px, 2), "weights": name, "source": source,
                   "psnr_y_bicubic_bd": round(got["state"]["psnr_y_bicubic_bd"], 4),
                   **{f"{k}_{mode}": round(got[mode][k], 4) for mode in got for k in ("psnr_y", "tof")},
                   "seconds": round(time.perf_counter() - t0, 1)}
            row["state_gain_db"] = round(row["psnr_y_state"] - row["psnr_y_reset"], 3)
            rows.append(row)
            print(f"{clip.name:18s} {mean_px:5.2f} / {p90_px:5.2f} {name:22s} {row['psnr_y_state']:7.2f} "
                  f"{row['psnr_y_reset']:7.2f} {row['state_gain_db']:+6.2f} {row['psnr_y_bicubic_bd']:7.2f}",
                  flush=True)
    if args.output:
        write_report({"frames": args.frames, "degradation": "BD x4", "torch": torch.__version__, "rows": rows},
                     args.output, "python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
