"""INT8 with no float fallback vs FP32, PSNR-Y against ground truth on every held-out clip (ONNX Runtime).

    python benchmarks/int8_held_out.py --model rrn --weights training/candidates/rrn.safetensors \
        --calib data/train-v4/sam2_juggle_lawn --clips data/train-v4/{cup,pan_grey,...} ../shared/data/basketballpass \
        --frames 30 -o benchmarks/results/rrn_int8_held_out.json

The INT8 model is edgevsr's own quantizer output in the TensorRT form (symmetric Q/DQ, what ``edgevsr build``
takes for the DLA), with every layer INT8 (``float_fallback=False``), calibrated on a validation clip (never a
test clip). Both models stream each clip through the same ``FrameUpscaler`` (recurrent state, padding, uint8
frames); LR is BD x4 from the ground truth. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError


def psnr_y_clip(runner, clip) -> float:
    from edgevsr.quality.metrics import psnr
    from edgevsr.stream import FrameUpscaler

    outs = list(FrameUpscaler(runner).run(list(clip.lr)))
    return float(np.mean([psnr(o, g) for o, g in zip(outs, clip.gt, strict=True)]))


def main(argv: list[str] | None = None) -> int:
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.quality.paired import PairedClip
    from edgevsr.quantize.entry import quantize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--calib", type=Path, required=True, help="a validation clip (video or frame folder)")
    ap.add_argument("--calib-frames", type=int, default=16)
    ap.add_argument("--clips", nargs="+", type=Path, required=True, help="held-out GT clips")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        quantize(args.model, fp32, precision="fp32", weights=args.weights, speed_size=None)
        quantize(args.model, int8, precision="int8", weights=args.weights, calib=args.calib,
                 calib_frames=args.calib_frames, speed_size=None, search=False, float_fallback=False)
        with OnnxRuntimeRunner(fp32) as a, OnnxRuntimeRunner(int8) as b:
            for path in args.clips:
                clip = PairedClip.read(path, max_frames=args.frames)
                clip.lr, clip.gt = list(clip.lr), list(clip.gt)
                pa, pb = psnr_y_clip(a, clip), psnr_y_clip(b, clip)
                rows.append({"clip": path.name, "frames": len(clip.gt), "psnr_y_fp32": round(pa, 3),
                             "psnr_y_int8": round(pb, 3), "drop_db": round(pa - pb, 3)})
                print(f"{path.name:<20} FP32 {pa:6.2f}  INT8 {pb:6.2f}  drop {pa - pb:+.3f} dB", flush=True)
    worst = max(r["drop_db"] for r in rows)
    print(f"largest INT8 drop: {worst:.3f} dB ({'within' if worst <= 0.3 else 'over'} the 0.3 dB target)")
    if args.output:
        meta = {"model": args.model, "weights": args.weights, "calib": str(args.calib), "frames": args.frames,
                "int8": "TensorRT form, every layer INT8 (no float fallback)", "runtime": "ONNX Runtime CPU",
                "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        args.output.write_text(json.dumps({"meta": meta, "rows": rows, "worst_drop_db": worst}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
