"""Synchronised latency of the torch CUDA path: FP32, FP16 (grid in FP32), FP16 + CUDA graphs, FP16 + compile.

egvsr and egvsr-lite (shipped weights) at 480x270 -> 1080p and 960x540 -> 4K (padded to 480x272 / 960x544),
recurrent state fed back as deployed. Per cell: p50 / p99 ms per step (CUDA events around each step, after
warm-up), FPS = 1000 / p50, and % of the *measured* dense FP16 peak (best torch.mm of 8192^2 FP16 with FP32
accumulate on this GPU) and of the vendor table. Prints a table, writes JSON (--json). Needs a CUDA GPU.

    python benchmarks/gpu/bench_torch_cuda.py --json out.json [--budget-s 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.deploy.devices import gpu_peak
from edgevsr.models.spec import ModelSpec
from edgevsr.weights import load_model

SIZES = [(480, 272, "480x270 -> 1080p"), (960, 544, "960x540 -> 4K")]
MODES = {"fp32": dict(precision="fp32"), "fp16": dict(precision="fp16", channels_last=True),
         "fp16+graphs": dict(precision="fp16", channels_last=True, cuda_graph=True),
         "fp16+compile": dict(precision="fp16", channels_last=True, compile=True)}


def measured_fp16_peak_tflops(n: int = 8192, repeats: int = 10) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.float16)
    b = torch.randn(n, n, device="cuda", dtype=torch.float16)
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False  # FP32 accumulate
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        a @ b
        e.record()
        e.synchronize()
        best = min(best, s.elapsed_time(e) / 1000.0)
    return 2.0 * n**3 / best / 1e12


def time_cell(name: str, w: int, h: int, mode: dict, warmup: int, runs: int) -> dict:
    model, _ = load_model(name)
    macs = model.macs_per_lr_pixel()
    runner = TorchRunner(model, ModelSpec.of(model, name), "cuda", **mode)
    dt = runner.dtype
    lr = torch.rand(1, 3, h, w, device="cuda", dtype=dt)
    hr = torch.zeros(1, 3, 4 * h, 4 * w, device="cuda", dtype=dt)
    t0 = time.perf_counter()
    for _ in range(warmup):
        hr = runner.infer(lr, lr, hr)
    warm_s = time.perf_counter() - t0
    ms = []
    for _ in range(runs):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        hr = runner.infer(lr, lr, hr)
        e.record()
        e.synchronize()
        ms.append(s.elapsed_time(e))
    ms.sort()
    p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    gflop = 2.0 * macs * w * h / 1e9
    return {"model": name, "size": f"{w}x{h}", "mode": next(k for k, v in MODES.items() if v is mode),
            "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "fps": round(1000.0 / p50, 1),
            "gflop_per_frame": round(gflop, 1), "achieved_tflops": round(gflop / p50, 2),
            "warmup_s": round(warm_s, 1), "runs": runs}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--budget-s", type=float, default=300.0, help="skip the remaining cells after this")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench_torch_cuda: no CUDA GPU visible to PyTorch; nothing measured")
        return 0
    torch.backends.cudnn.benchmark = True
    gpu, table = gpu_peak()
    peak = measured_fp16_peak_tflops()
    rows, t_start = [], time.perf_counter()
    for name in ("egvsr", "egvsr-lite"):
        for w, h, label in SIZES:
            for key, mode in MODES.items():
                if time.perf_counter() - t_start > args.budget_s:
                    rows.append({"model": name, "size": f"{w}x{h}", "mode": key, "skipped": "time budget"})
                    continue
                try:
                    r = time_cell(name, w, h, mode, args.warmup, args.runs)
                except Exception as exc:  # one failing mode must not hide the others
                    r = {"model": name, "size": f"{w}x{h}", "mode": key, "error": str(exc).splitlines()[0][:200]}
                r["label"] = label
                if "p50_ms" in r:
                    r["pct_measured_fp16_peak"] = round(100.0 * r["achieved_tflops"] / peak, 1)
                    if table and table.fp16_tflops:
                        r["pct_table_fp16_peak"] = round(100.0 * r["achieved_tflops"] / table.fp16_tflops, 1)
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    out = {"gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
           "measured_fp16_peak_tflops": round(peak, 1), "table_peak": table.to_dict() if table else None,
           "definition": "p50/p99 of CUDA-event times per recurrent step after warm-up; FLOP = 2 x conv MACs at "
                         "the padded LR size; peak = best 8192^2 FP16 matmul with FP32 accumulate",
           "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print(f"{gpu}: measured dense FP16 peak {peak:.1f} TFLOPS"
          + (f" (table {table.fp16_tflops} TFLOPS, {table.source})" if table else ""))
    print(f"{'model':<11} {'LR -> HR':<18} {'mode':<13} {'p50 ms':>8} {'p99 ms':>8} {'FPS':>7} {'TFLOPS':>7} "
          f"{'% peak':>7}")
    for r in rows:
        if "p50_ms" not in r:
            print(f"{r['model']:<11} {r['size']:<18} {r['mode']:<13} {r.get('skipped') or r.get('error')}")
            continue
        print(f"{r['model']:<11} {r['label']:<18} {r['mode']:<13} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['fps']:>7.1f} {r['achieved_tflops']:>7.2f} {r['pct_measured_fp16_peak']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
