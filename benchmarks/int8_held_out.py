"""INT8 with no float fallback vs FP32, PSNR-Y against ground truth on every held-out clip (ONNX Runtime).

    python benchmarks/int8_held_out.py --model rrn --weights rrn-stage1 \
        --calib data/train-v4/sam2_juggle_lawn --clips data/train-v4/{cup,pan_grey,...} ../shared/data/basketballpass \
        --frames 30 -o benchmarks/results/rrn_int8_held_out.json

The INT8 model is edgevsr's own quantizer output in the TensorRT form (symmetric Q/DQ, what ``edgevsr build``
takes for the DLA), with every layer INT8 (``--mode all-int8``, ``float_fallback=False``) or with the default float
groups kept in float (``--mode default-float``, what ``edgevsr quantize --no-search`` makes), calibrated on a
validation clip (never a test clip). Both models stream each clip through the same ``FrameUpscaler`` (recurrent
state, padding, uint8 frames); LR is BD x4 from the ground truth. Prints a table and writes JSON.

``--compare-picture-range`` also quantizes with the picture inputs' range calibrated (the rule off: before the
[0, 1] contract range) and reports both INT8 models side by side, same statistics, same run.
"""

from __future__ import annotations

import argparse
import contextlib
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
    from edgevsr.quantize.pipeline import QuantizeOptions, quantize_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--calib", type=Path, required=True, help="a validation clip (video or frame folder)")
    ap.add_argument("--calib-frames", type=int, default=16)
    ap.add_argument("--clips", nargs="+", type=Path, required=True, help="held-out GT clips")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--mode", choices=("all-int8", "default-float"), default="all-int8")
    ap.add_argument("--method", choices=("entropy", "minmax", "percentile"), default="entropy",
                    help="activation ranges (edgevsr quantize --method)")
    ap.add_argument("--compare-picture-range", action="store_true",
                    help="also INT8 with the picture inputs' range calibrated (the rule off), side by side")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        quantize(args.model, fp32, precision="fp32", weights=args.weights, speed_size=None)
        variants = {"int8": True, **({"int8_calibrated_inputs": False} if args.compare_picture_range else {})}
        paths = {}
        for key, picture_range in variants.items():
            paths[key] = Path(tmp) / f"{key}.onnx"
            opts = QuantizeOptions(calib_frames=args.calib_frames, cache=Path(tmp) / "calib.npz", speed_shape=None,
                                   keep_default_float=args.mode == "default-float", picture_range=picture_range,
                                   method=args.method)
            quantize_model(args.model, paths[key], "int8", weights=args.weights, calibration=args.calib,
                           search=False, options=opts)
        same_graph = None
        if args.compare_picture_range:  # no picture input read by an INT8 node: the rule changes nothing
            import onnx

            same_graph = len({onnx.load(str(q)).graph.SerializeToString() for q in paths.values()}) == 1
            print(f"INT8 graphs with and without the picture-range rule identical: {same_graph}", flush=True)
        with contextlib.ExitStack() as stack:
            runners = {k: stack.enter_context(OnnxRuntimeRunner(p)) for k, p in {"fp32": fp32, **paths}.items()}
            for path in args.clips:
                clip = PairedClip.read(path, max_frames=args.frames)
                clip.lr, clip.gt = list(clip.lr), list(clip.gt)
                psnr = {k: psnr_y_clip(r, clip) for k, r in runners.items()}
                row = {"clip": path.name, "frames": len(clip.gt), "psnr_y_fp32": round(psnr["fp32"], 3)}
                for k in variants:
                    suffix = k.removeprefix("int8")
                    row[f"psnr_y_{k}"] = round(psnr[k], 3)
                    row[f"drop_db{suffix}"] = round(psnr["fp32"] - psnr[k], 3)
                rows.append(row)
                print(f"{path.name:<20} FP32 {psnr['fp32']:6.2f}  " + "  ".join(
                    f"{k} {psnr[k]:6.2f} (drop {psnr['fp32'] - psnr[k]:+.3f} dB)" for k in variants), flush=True)
    worst = max(r["drop_db"] for r in rows)
    print(f"largest INT8 drop: {worst:.3f} dB ({'within' if worst <= 0.3 else 'over'} the 0.3 dB target)")
    if args.compare_picture_range:
        before = max(r["drop_db_calibrated_inputs"] for r in rows)
        print(f"largest INT8 drop with calibrated picture-input ranges: {before:.3f} dB")
    if args.output:
        meta = {"model": args.model, "weights": args.weights, "calib": str(args.calib), "frames": args.frames,
                "method": args.method,
                "int8": "TensorRT form, " + ("every layer INT8 (no float fallback)" if args.mode == "all-int8"
                                             else "default float groups (--no-search)"),
                "picture_inputs": "range [0, 1] from the model contract" + (
                    "; int8_calibrated_inputs: calibrated (the rule off)" if args.compare_picture_range else ""),
                "runtime": "ONNX Runtime CPU",
                "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        if same_graph is not None:
            meta["int8_graphs_identical"] = same_graph
        args.output.write_text(json.dumps({"meta": meta, "rows": rows, "worst_drop_db": worst}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
