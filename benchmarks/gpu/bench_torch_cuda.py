"""Synchronised latency of the torch path: FP32 (TF32 where it runs), FP16 + channels_last, CUDA graphs, compile.

Every model of :data:`CANDIDATES` that the zoo has at run time (egvsr, egvsr-lite and the flow-free rrn / rrn-lite,
all with shipped weights), at 480x270 -> 1080p and 960x540 -> 4K (padded to 480x272 / 960x544), recurrent state fed
back as deployed. Per cell: p50 / p99 ms per step (CUDA events around each step, after warm-up), FPS = 1000 / p50,
and % of the *measured* dense FP16 peak (best 8192^2 FP16 matmul, FP32 accumulate, on this GPU) and of the vendor
table. Each row goes to ``--results`` as it is measured (a timeout keeps the rows before it); the compile cells,
the slow ones, come last. ``--rehearse``: CPU, a 32x24 input, 2 runs, graph and compile cells skipped (they need
CUDA) - the path of the real run in seconds.

    python benchmarks/gpu/bench_torch_cuda.py --results out.json [--budget-s 180] [--rehearse]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_row  # noqa: E402

CANDIDATES = ("egvsr", "egvsr-lite", "rrn", "rrn-lite")
SIZES = [(480, 272, "480x270 -> 1080p"), (960, 544, "960x540 -> 4K")]
TINY = [(32, 24, "32x24 (rehearsal)")]
MODES = {"fp32": dict(precision="fp32"), "fp16": dict(precision="fp16", channels_last=True),
         "fp16+graphs": dict(precision="fp16", channels_last=True, cuda_graph=True),
         "fp16+compile": dict(precision="fp16", channels_last=True, compile=True)}


def zoo_models(candidates: tuple[str, ...] = CANDIDATES) -> list[str]:
    """The candidates the model registry knows at run time, in order."""
    from edgevsr.models import ARCHITECTURES

    return [m for m in candidates if m in ARCHITECTURES]


def fp32_label(capability: tuple[int, int] | None, cudnn_tf32: bool) -> str:
    """What an "fp32" torch conv really runs: TF32 on Ampere (sm 8.0) and newer while cuDNN allows it."""
    return "tf32" if capability is not None and capability >= (8, 0) and cudnn_tf32 else "fp32"


def cudnn_allows_tf32() -> bool:
    conv = getattr(torch.backends.cudnn, "conv", None)  # torch >= 2.9: per-op precision setting
    setting = getattr(conv, "fp32_precision", None) if conv is not None else None
    if setting in ("tf32", "ieee"):
        return setting == "tf32"
    return bool(torch.backends.cudnn.allow_tf32)


def measured_fp16_peak_tflops(device: str, n: int = 8192, repeats: int = 10) -> float:
    """Best dense FP16 matmul rate with FP32 accumulate (FP32 on the CPU rehearsal, where it is a stand-in)."""
    dt = torch.float16 if device == "cuda" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dt)
    b = torch.randn(n, n, device=device, dtype=dt)
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    for _ in range(3):
        a @ b
    best = min(_timed(device, lambda: a @ b) for _ in range(repeats))
    return 2.0 * n**3 / (best / 1000.0) / 1e12


def _timed(device: str, fn) -> float:
    """Milliseconds of ``fn()``: CUDA events on a GPU, perf_counter after it on the CPU."""
    if device != "cuda":
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000.0
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    fn()
    e.record()
    e.synchronize()
    return s.elapsed_time(e)


def time_cell(name: str, w: int, h: int, mode: dict, device: str, warmup: int, runs: int) -> dict:
    from edgevsr.backends.torch.runner import TorchRunner
    from edgevsr.models.spec import ModelSpec
    from edgevsr.weights import load_model

    model, source = load_model(name, allow_random=True)  # latency does not depend on the weights
    macs = model.macs_per_lr_pixel()
    spec = ModelSpec.of(model, name)
    runner = TorchRunner(model, spec, device, **mode)
    dt, s = runner.dtype, spec.scale
    lr = torch.rand(1, 3, h, w, device=device, dtype=dt)
    if spec.kind == "recurrent":
        state = [torch.rand(1, 3, s * h, s * w, device=device, dtype=dt)]

        def step():
            state[0] = runner.infer(lr, lr, state[0])
    else:
        x = torch.rand(1, 3 * spec.window if spec.kind == "windowed" else 3, h, w, device=device, dtype=dt)

        def step():
            runner.infer(x)
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    warm_s = time.perf_counter() - t0
    ms = sorted(_timed(device, step) for _ in range(runs))
    p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    gflop = 2.0 * macs * w * h / 1e9
    return {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "fps": round(1000.0 / p50, 1),
            "gflop_per_frame": round(gflop, 2), "achieved_tflops": round(gflop / p50, 3),
            "warmup_s": round(warm_s, 1), "runs": runs, "weights": source}


def plan_cells(models: list[str], sizes: list[tuple], device: str) -> list[tuple[str, tuple, str]]:
    """(model, size, mode) in measuring order: the quick modes for every model and size first, compile last."""
    quick = [(m, sz, k) for sz in sizes for m in models for k in MODES if k != "fp16+compile"]
    slow = [(m, sz, "fp16+compile") for sz in sizes for m in models]
    return quick + slow


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=None, help="results JSON to append each row to (results.py)")
    ap.add_argument("--json", default=None, help="also write the whole table here at the end")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--budget-s", type=float, default=300.0, help="skip the remaining cells after this")
    ap.add_argument("--rehearse", action="store_true", help="CPU, tiny input, 2 runs: the path, not the figures")
    args = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.rehearse:
        print("bench_torch_cuda: no CUDA GPU visible to PyTorch; nothing measured")
        return 0
    from edgevsr.deploy.devices import gpu_peak

    sizes, warmup, runs = (TINY, 1, 2) if args.rehearse else (SIZES, args.warmup, args.runs)
    torch.backends.cudnn.benchmark = True
    if device == "cuda":
        gpu, table = gpu_peak()
        cap = torch.cuda.get_device_capability()
        fp32 = fp32_label(cap, cudnn_allows_tf32())
    else:
        gpu, table, cap, fp32 = "cpu (rehearsal)", None, None, "fp32"
    peak = measured_fp16_peak_tflops(device, n=8192 if device == "cuda" else 128)
    models = zoo_models()
    head = {"gpu": gpu, "capability": list(cap) if cap else None, "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "fp32_runs_as": fp32, "models": models, "measured_fp16_peak_tflops": round(peak, 2),
            "table_peak": table.to_dict() if table else None,
            "definition": "p50/p99 of CUDA-event times per recurrent step after warm-up; FLOP = 2 x conv MACs at "
                          "the padded LR size; peak = best 8192^2 FP16 matmul with FP32 accumulate"}
    if args.results:
        add_row(args.results, {"step": "latency-setup", **head})
    rows, t_start = [], time.perf_counter()
    for name, (w, h, label), key in plan_cells(models, sizes, device):
        shown = fp32 if key == "fp32" else key
        r = {"step": "latency", "model": name, "size": f"{w}x{h}", "label": label, "mode": shown}
        if time.perf_counter() - t_start > args.budget_s:
            r["skipped"] = "time budget"
        elif device != "cuda" and key in ("fp16+graphs", "fp16+compile"):
            r["skipped"] = "needs CUDA (rehearsal on the CPU)"
        else:
            try:
                r.update(time_cell(name, w, h, MODES[key], device, warmup, runs))
            except Exception as exc:  # one failing mode must not hide the others
                r["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        if "p50_ms" in r:
            r["pct_measured_fp16_peak"] = round(100.0 * r["achieved_tflops"] / peak, 1)
            if table and table.fp16_tflops:
                r["pct_table_fp16_peak"] = round(100.0 * r["achieved_tflops"] / table.fp16_tflops, 1)
        rows.append(r)
        if args.results:
            add_row(args.results, r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({**head, "rows": rows}, indent=2))
    print(f"{gpu}: measured dense FP16 peak {peak:.1f} TFLOPS; 'fp32' convs run as {fp32}"
          + (f" (table {table.fp16_tflops} TFLOPS, {table.source})" if table else ""))
    print(f"{'model':<11} {'LR -> HR':<18} {'mode':<13} {'p50 ms':>8} {'p99 ms':>8} {'FPS':>7} {'TFLOPS':>7} "
          f"{'% peak':>7}")
    for r in rows:
        if "p50_ms" not in r:
            print(f"{r['model']:<11} {r['label']:<18} {r['mode']:<13} {r.get('skipped') or r.get('error')}")
            continue
        print(f"{r['model']:<11} {r['label']:<18} {r['mode']:<13} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['fps']:>7.1f} {r['achieved_tflops']:>7.2f} {r['pct_measured_fp16_peak']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
