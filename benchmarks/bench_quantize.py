"""FP16 / INT8 vs FP32 of real trained models: quality vs GT on a held-out clip and ORT CPU speed side by side.

Subjects: VESPCN with the published EGVSR-repo checkpoint (../shared/data/pretrained) and, when this
edgevsr ships trained EGVSR weights, EGVSR. Calibration: real pedestrian footage (OpenCV's vtest.avi,
``apt-get install opencv-doc``) center-cropped (default 240x136 LR frames, 8 of them); held-out ground truth:
the BasketballPass test sequence (../shared), degraded BD x4. Speed: ONNX Runtime CPU at 480x272 LR input,
FP32 and the candidate alternating in one process (median of --runs).

    python benchmarks/bench_quantize.py            # prints a table, writes benchmarks/results/quantize.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CALIB = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def budget():
    from edgevsr.quality.gate import QualityBudget

    return QualityBudget(min_psnr_vs_ref=40.0, max_psnr_drop=0.3, max_lpips_increase=0.01)


def configs(args) -> list[tuple[str, dict]]:
    out = [("fp16", dict(precision="fp16"))]
    out.append((f"int8 {args.method} + search", dict(precision="int8", method=args.method)))
    for m in args.compare_methods:
        out.append((f"int8 {m}, default float groups", dict(precision="int8", method=m, search=False)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["vespcn", "egvsr"])
    ap.add_argument("--calib", type=Path, default=CALIB)
    ap.add_argument("--calib-frames", type=int, default=8)
    ap.add_argument("--calib-shape", default="136x240", help="LR HxW crop of the calibration frames")
    ap.add_argument("--gt", type=Path, default=SHARED / "basketballpass")
    ap.add_argument("--gt-frames", type=int, default=8)
    ap.add_argument("--method", default="entropy")
    ap.add_argument("--compare-methods", nargs="*", default=["minmax", "percentile"])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "quantize.json")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/edgevsr-bench-quantize"))
    ap.add_argument("--speed-only", nargs="*", default=[], metavar="MODEL",
                    help="models without trained weights: INT8 (default float groups) vs FP32 ORT speed only, "
                         "random weights, no quality figures (speed does not depend on weight values)")
    args = ap.parse_args()

    from edgevsr.quality.gate import QualityBudget
    from edgevsr.quantize.export import parse_shape
    from edgevsr.quantize.pipeline import QuantizeOptions, quantize_model
    from edgevsr.weights import default_weights

    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.speed_only:
        t0 = time.time()
        opts = QuantizeOptions(calib_frames=3, calib_shape=parse_shape(args.calib_shape), target="onnxruntime",
                               speed_shape=(272, 480), speed_runs=args.runs,
                               cache=args.workdir / f"{name}.random.calib.npz")
        r = quantize_model(name, args.workdir / f"{name}_random_int8.onnx", "int8", calibration=args.calib,
                           budget=QualityBudget(), search=False, options=opts, allow_random=True,
                           status=lambda m, t0=t0: print(f"  [{time.time() - t0:6.1f}s] {m}", flush=True))
        results.append({"model": name, "weights": "RANDOM: speed only, no quality figures",
                         "config": "int8 default float groups (speed only)", **r.to_dict()})
        print(f"{name} speed only: x{r.speed['speedup']:.2f} ({r.speed['fp32_s'] * 1e3:.0f} -> "
              f"{r.speed['candidate_s'] * 1e3:.0f} ms)", flush=True)
    for name in args.models:
        if name == "vespcn":
            weights = str(SHARED / "pretrained" / "vespcn_ep0500.pth")
            source = "published EGVSR-repo checkpoint vespcn_ep0500.pth"
        else:
            card = default_weights(name)
            if card is None:
                print(f"{name}: no shipped trained weights in this edgevsr version; skipped")
                continue
            weights, source = None, f"shipped:{card.name}"
        for label, cfg in configs(args):
            t0 = time.time()
            precision, search = cfg.pop("precision"), cfg.pop("search", True)
            opts = QuantizeOptions(calib_frames=args.calib_frames, calib_shape=parse_shape(args.calib_shape),
                                   gt=args.gt, gt_frames=args.gt_frames, speed_shape=(272, 480), target="onnxruntime",
                                   speed_runs=args.runs, cache=args.workdir / f"{name}.calib.npz",
                                   trt_cache=args.workdir / f"{name}.trt.cache" if precision == "int8"
                                   else None, **cfg)
            slug = label.replace(" ", "_").replace(",", "").replace("+", "")
            r = quantize_model(name, args.workdir / f"{name}_{slug}.onnx", precision, weights=weights,
                               calibration=args.calib, budget=budget(), search=search, options=opts,
                               status=lambda m, t0=t0: print(f"  [{time.time() - t0:6.1f}s] {m}", flush=True))
            q = r.quality
            row = {"model": name, "weights": source, "config": label, **r.to_dict(),
                   "psnr_y_drop": q["fp32 vs gt"]["psnr_y"] - q["candidate vs gt"]["psnr_y"],
                   "lpips_increase": q["candidate vs gt"]["lpips"] - q["fp32 vs gt"]["lpips"],
                   "seconds": time.time() - t0}
            results.append(row)
            print(f"{name} {label}: dPSNR-Y {-row['psnr_y_drop']:+.3f} dB, dLPIPS {row['lpips_increase']:+.4f}, "
                  f"speed x{r.speed['speedup']:.2f} ({r.speed['fp32_s'] * 1e3:.0f} -> "
                  f"{r.speed['candidate_s'] * 1e3:.0f} ms)", flush=True)

    print(f"\n{'model':8} {'config':36} {'PSNR-Y gt':>9} {'dPSNR':>7} {'LPIPS':>7} {'dLPIPS':>8} {'tOF':>6} "
          f"{'vsFP32':>7} {'ORT x':>6} {'MiB':>5}")
    for r in results:
        if not r.get("quality"):
            print(f"{r['model']:8} {r['config']:36} {'(random weights: no quality figures)':>56} "
                  f"{r['speed']['speedup']:6.2f} {r['file_size'] / 2**20:5.2f}")
            continue
        c = r["quality"]["candidate vs gt"]
        print(f"{r['model']:8} {r['config']:36} {c['psnr_y']:9.3f} {-r['psnr_y_drop']:+7.3f} {c['lpips']:7.4f} "
              f"{r['lpips_increase']:+8.4f} {c['tof']:6.3f} {r['quality']['candidate vs fp32']['psnr_y']:7.2f} "
              f"{r['speed']['speedup']:6.2f} {r['file_size'] / 2**20:5.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    import onnxruntime

    keys = {(r["model"], r["config"]) for r in results}
    if args.out.is_file():  # keep earlier runs' other rows (e.g. --speed-only run separately)
        old = json.loads(args.out.read_text()).get("results", [])
        results = [r for r in old if (r["model"], r["config"]) not in keys] + results
    args.out.write_text(json.dumps({
        "command": "python benchmarks/bench_quantize.py --models vespcn; "
                   "python benchmarks/bench_quantize.py --models --speed-only egvsr",
        "machine": {"cpu": platform.processor() or platform.machine(), "onnxruntime": onnxruntime.__version__,
                    "note": "2 CPU cores shared with a training run: absolute times are noisy, ratios are "
                            "measured side by side (alternating runs, median)"},
        "calibration": f"{args.calib} ({args.calib_frames} frames, center crop {args.calib_shape} (HxW))",
        "held_out_gt": f"{args.gt} ({args.gt_frames} frames, BD x4)",
        "results": results}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
