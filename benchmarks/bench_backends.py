"""Per-frame latency of one model on every backend available here, side by side, with `edgevsr profile`'s code.

    python benchmarks/bench_backends.py [--model egvsr] [--sizes 240x136,480x272] [--frames 8] [--warmup 2]
                                        [--rounds 2] [--threads N]

CPU: torch FP32 and onnxruntime (CPU EP) on the same ONNX export of the same
weights. GPU (when CUDA is visible): torch FP32 / FP16 and, where TensorRT is
installed, FP32 and FP16 engines (built once into the engine cache). Backends
alternate within each round so background load hits them alike; the table shows
the median over rounds of each run's median latency, and onnxruntime / torch
speed ratios measured in the same round. Untrained weights are used where none
ship: the cost of a dense network does not depend on its weight values.
Writes benchmarks/results/backends_<cpu|gpu>.json (every run's full profile report).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.backends.tensorrt.engine_record import parse_size
from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.deploy.devices import cpu_ceiling, gpu_peak
from edgevsr.deploy.profile import profile_runner, synthetic_frames
from edgevsr.models.spec import ModelSpec
from edgevsr.weights import load_model

RESULTS = Path(__file__).parent / "results"


def runners(model, name: str, onnx: Path, cuda: bool, trt_engines: dict, threads: int) -> dict:
    spec = ModelSpec.of(model, name)
    if not cuda:
        return {"torch cpu fp32": lambda: TorchRunner(model, spec, "cpu"),
                "onnxruntime cpu fp32": lambda: OnnxRuntimeRunner(onnx, threads=threads)}
    out = {"torch cuda fp32": lambda: TorchRunner(model, spec, "cuda"),
           "torch cuda fp16": lambda: TorchRunner(model, spec, "cuda", "fp16")}
    for label, engine in trt_engines.items():
        from edgevsr.backends.tensorrt.runner import TensorRTRunner

        out[label] = lambda e=engine: TensorRTRunner(e)
    return out


def build_trt(onnx: Path, sizes: list[tuple[int, int]]) -> dict:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        print("TensorRT not installed: no tensorrt rows")
        return {}
    from edgevsr.backends.tensorrt.engine_record import ShapeProfile
    from edgevsr.deploy.trt_builder import build_engine
    from edgevsr.deploy.trt_plan import BuildOptions, parse_version

    padded = [(w + (-w) % 8, h + (-h) % 8) for w, h in sizes]
    prof = ShapeProfile(min(padded), padded[0], max(padded))
    engines = {}
    for precision in ("fp32", "fp16"):
        if precision == "fp16" and parse_version(tensorrt.__version__) >= (11, 0):
            continue  # needs an FP16 ONNX on TensorRT 11
        res = build_engine(onnx, None, BuildOptions(precision=precision, profile=prof))
        engines[f"tensorrt {precision}"] = res.engine
    return engines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="egvsr")
    ap.add_argument("--sizes", default="240x136,480x272")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from edgevsr.quantize.export import export_onnx

    cuda = torch.cuda.is_available()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    model, source = load_model(args.model, allow_random=True)
    macs = model.macs_per_lr_pixel()
    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / f"{args.model}.onnx"
        export_onnx(model, args.model, onnx)  # same weights as the torch rows
        trt_engines = build_trt(onnx, sizes) if cuda else {}
        peak = gpu_peak()[1] if cuda else cpu_ceiling(args.threads)
        makers = runners(model, args.model, onnx, cuda, trt_engines, args.threads)
        runs = []
        for r in range(args.rounds):
            order = list(makers) if r % 2 == 0 else list(reversed(makers))
            for w, h in sizes:
                clip = list(synthetic_frames(w, h, args.warmup + args.frames))
                for label in order:
                    rep = profile_runner(makers[label](), clip, args.warmup, macs_per_lr_pixel=macs, peak=peak,
                                         info={"weights": source, "label": label, "round": r})
                    runs.append(rep)
                    print(f"round {r} {label:<22} {w}x{h}: median {rep['latency_ms']['median']:.1f} ms "
                          f"(load {rep['environment']['loadavg_after'][0]:.1f})", flush=True)

    print(f"\n{args.model} ({source}), {args.frames} timed frames x {args.rounds} rounds, "
          f"{'GPU ' + torch.cuda.get_device_name(0) if cuda else f'CPU {args.threads} threads'}")
    print(f"{'backend':<24}{'LR input':>10}{'HR output':>11}{'median ms':>11}{'p90 ms':>9}{'FPS':>8}"
          f"{'infer %':>9}{'% peak':>8}")
    table = []
    for label in makers:
        for w, h in sizes:
            mine = [x for x in runs if x["label"] == label and x["input"]["width"] == w]
            med = statistics.median(x["latency_ms"]["median"] for x in mine)
            p90 = statistics.median(x["latency_ms"]["p90"] for x in mine)
            share = statistics.median(x["stage_share"]["infer"] for x in mine)
            pct = [x["compute"]["roofline_pct"] for x in mine if x["compute"]["roofline_pct"] is not None]
            row = {"backend": label, "input": f"{w}x{h}", "output": f"{4 * w}x{4 * h}", "median_ms": med,
                   "p90_ms": p90, "fps": 1000.0 / med, "infer_share": share,
                   "roofline_pct": statistics.median(pct) if pct else None,
                   "gflop_per_frame": mine[0]["compute"]["gflop_per_frame"]}
            table.append(row)
            print(f"{label:<24}{row['input']:>10}{row['output']:>11}{med:>11.1f}{p90:>9.1f}{row['fps']:>8.2f}"
                  f"{100 * share:>8.0f}%{(row['roofline_pct'] or 0):>7.1f}%")
    ratios = []
    if not cuda:
        for w, h in sizes:
            for r in range(args.rounds):
                pair = {x["label"]: x["latency_ms"]["median"] for x in runs
                        if x["round"] == r and x["input"]["width"] == w}
                ratios.append({"input": f"{w}x{h}", "round": r,
                               "onnxruntime_speedup_vs_torch": pair["torch cpu fp32"] / pair["onnxruntime cpu fp32"]})
        for w, h in sizes:
            vals = [x["onnxruntime_speedup_vs_torch"] for x in ratios if x["input"] == f"{w}x{h}"]
            print(f"onnxruntime / torch speed at {w}x{h}: " + ", ".join(f"{v:.2f}x" for v in vals) + " (per round)")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"backends_{'gpu' if cuda else 'cpu'}.json"
    out.write_text(json.dumps({"model": args.model, "weights": source, "peak": peak.to_dict() if peak else None,
                               "args": vars(args), "table": table, "ratios": ratios, "runs": runs}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
