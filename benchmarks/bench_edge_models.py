"""ONNX Runtime CPU speed of rrn / rrn-lite beside egvsr / egvsr-lite, FP32 and INT8, in one run.

    python benchmarks/bench_edge_models.py --calib data/train-v4/sam2_juggle_lawn \
        --weights rrn=training/candidates/rrn.safetensors -o benchmarks/results/edge_models_ort.json

Each model is exported (FP32) and quantized with edgevsr's own quantizer for ONNX Runtime (``target
onnxruntime``: uint8 activations, the fast form on x86): rrn and rrn-lite with every layer INT8
(``float_fallback=False``), egvsr and egvsr-lite with their default float groups (their flow heads and odd
convs stay float, as shipped). All sessions then run one recurrent step at the same LR size, alternating run by
run in one process, so load on the machine hits them alike. Reported per model and precision: median and
fastest wall seconds per step (2 threads) and CPU seconds per step on 1 thread (the compute each step costs,
whatever else shares the cores), plus MACs. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError

MODELS = ["egvsr", "egvsr-lite", "rrn", "rrn-lite"]


def _inputs(h: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((1, 3, h, w), np.float32), rng.random((1, 3, h, w), np.float32),
            rng.random((1, 3, 4 * h, 4 * w), np.float32)]


def main(argv: list[str] | None = None) -> int:
    from edgevsr.models import build_model
    from edgevsr.quantize.entry import quantize
    from edgevsr.quantize.measure import session

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calib", type=Path, required=True, help="calibration clip (video or frame folder)")
    ap.add_argument("--weights", action="append", default=[], help="MODEL=FILE (default: shipped, else random)")
    ap.add_argument("--size", default="480x272", help="LR WIDTHxHEIGHT of the timed step")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    weights = dict(w.split("=", 1) for w in args.weights)
    w, h = (int(x) for x in args.size.lower().split("x"))
    feeds_in = _inputs(h, w)
    rows, sessions, single = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in MODELS:
            kw = dict(weights=weights.get(m), speed_size=None, allow_random=True, size=args.size,
                      calib=args.calib, calib_frames=8)
            fp32 = Path(tmp) / f"{m}-fp32.onnx"
            quantize(m, fp32, precision="fp32", **kw)
            int8 = Path(tmp) / f"{m}-int8.onnx"
            quantize(m, int8, precision="int8", target="onnxruntime", search=False,
                     float_fallback=not m.startswith("rrn"), **kw)
            for prec, path in (("fp32", fp32), ("int8", int8)):
                sessions[(m, prec)], single[(m, prec)] = session(path), session(path, 1)
            print(f"exported {m}", file=sys.stderr, flush=True)
        feeds = {k: dict(zip([i.name for i in s.get_inputs()], feeds_in, strict=True)) for k, s in sessions.items()}
        wall: dict = {k: [] for k in sessions}
        cpu: dict = {k: [] for k in sessions}
        for k, s in sessions.items():
            s.run(None, feeds[k])
            single[k].run(None, feeds[k])
        for r in range(args.runs):
            for k, s in sessions.items():
                t0 = time.perf_counter()
                s.run(None, feeds[k])
                wall[k].append(time.perf_counter() - t0)
            for k, s in single.items():
                c0 = time.process_time()
                s.run(None, feeds[k])
                cpu[k].append(time.process_time() - c0)
            print(f"round {r + 1}/{args.runs}", file=sys.stderr, flush=True)
    macs = {m: build_model(m).macs_per_lr_pixel() for m in MODELS}
    base = float(np.median(cpu[("egvsr", "fp32")]))
    for (m, prec), v in wall.items():
        c = float(np.median(cpu[(m, prec)]))
        rows.append({"model": m, "precision": prec, "gmac_per_frame": round(macs[m] * w * h / 1e9, 2),
                     "wall_median_s": round(float(np.median(v)), 4), "wall_min_s": round(float(np.min(v)), 4),
                     "cpu_1thread_s": round(c, 4), "cpu_vs_egvsr_fp32": round(c / base, 3)})
    print(f"{'model':<11} {'prec':<5} {'GMAC':>6} {'wall med s':>10} {'wall min s':>10} {'CPU s 1 thr':>11} "
          f"{'x egvsr fp32':>12}")
    for r in rows:
        print(f"{r['model']:<11} {r['precision']:<5} {r['gmac_per_frame']:>6} {r['wall_median_s']:>10.3f} "
              f"{r['wall_min_s']:>10.3f} {r['cpu_1thread_s']:>11.3f} {r['cpu_vs_egvsr_fp32']:>12.2f}")
    if args.output:
        meta = {"size": args.size, "runs": args.runs, "cpu": platform.processor() or platform.machine(),
                "weights": weights, "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        args.output.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
