"""End-to-end latency and throughput of the `edgevsr run` pipeline vs the bare model, on this machine's CPU.

    python benchmarks/bench_pipeline.py [--size 96x64] [--frames 24] [--camera-fps 30] [--camera-seconds 4]
        [--rounds 3] [--threads 1] [--configs torch:bicubic,torch:egvsr-lite,onnxruntime:egvsr-lite]

For each backend:model, side by side in one run:
- *bare*: ``FrameUpscaler.push`` on frames already in memory (what the model alone costs);
- *pipeline, file*: test pattern as fast as it can be read -> pipeline (block policy) -> null sink:
  throughput, and capture->sink latency with the queues full;
- *pipeline, camera*: test pattern paced at ``--camera-fps`` for ``--camera-seconds`` like a camera
  (drop-oldest policy): frames shown, dropped, capture->sink latency.
The three are repeated ``--rounds`` times, interleaved, and each figure is the median over rounds, so
a busy neighbour (this box is shared with training) hits all three alike.
Prints a table, writes benchmarks/results/pipeline.json. Untrained weights are used where
none ship: speed only, never quality. The machine may be shared: the JSON records the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import torch

from edgevsr.backends.registry import RunnerConfig, make_runner, runner_config
from edgevsr.edge.pipeline import Pipeline
from edgevsr.edge.sinks import NullSink
from edgevsr.edge.sources import TestPatternSource
from edgevsr.stream import FrameUpscaler

RESULTS = Path(__file__).parent / "results"


def runner_for(backend: str, model: str, tmp: Path):
    if backend == "torch":
        return make_runner(RunnerConfig(model=model, allow_random=True))
    if backend == "onnxruntime":
        from edgevsr.quantize.export import export_onnx
        from edgevsr.weights import load_model

        m, source = load_model(model, allow_random=True)
        path = tmp / f"{model}.onnx"
        export_onnx(m, model, path)
        runner, _ = make_runner(runner_config(model=model, backend="onnxruntime", onnx=path))
        return runner, source
    raise SystemExit(f"unknown backend {backend}")


def bare(runner, frames) -> dict:
    up = FrameUpscaler(runner)
    with runner:
        up.push(frames[0])  # warm-up
        times = []
        for f in frames:
            t0 = time.perf_counter()
            up.push(f)
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"ms_per_frame": med * 1e3, "fps": 1 / med}


def through_pipeline(runner, w: int, h: int, frames: int, camera_fps: float | None) -> dict:
    live = camera_fps is not None  # a camera: paced, and frames = fps x seconds
    src = TestPatternSource(w, h, fps=camera_fps or 30, frames=frames, realtime=live)
    with runner:
        FrameUpscaler(runner).push(src.frame(0))  # warm-up outside the timed run
    s = Pipeline(src, FrameUpscaler(runner), NullSink()).run()
    return {"policy": "drop" if live else "block", "shown": s.shown, "captured": s.captured, "dropped": s.dropped,
            "fps": s.fps, "latency_p50_ms": s.latency_ms(50), "latency_p95_ms": s.latency_ms(95),
            "resets": dict(s.resets)}


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k, v in runs[0].items() if isinstance(v, (int, float))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="96x64", help="LR input WxH")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--camera-fps", type=float, default=30.0)
    ap.add_argument("--camera-seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default="torch:bicubic,torch:egvsr-lite,onnxruntime:egvsr-lite")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    w, h = map(int, args.size.split("x"))
    pattern = TestPatternSource(w, h, realtime=False)
    frames = [pattern.frame(i) for i in range(args.frames)]
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in args.configs.split(","):
            backend, model = cfg.split(":")
            runner, weights = runner_for(backend, model, Path(tmp))
            runs = {"bare": [], "file": [], "camera": []}
            for _ in range(args.rounds):
                runs["bare"].append(bare(runner, frames))
                runs["file"].append(through_pipeline(runner, w, h, args.frames, None))
                runs["camera"].append(through_pipeline(runner, w, h, round(args.camera_fps * args.camera_seconds),
                                                       args.camera_fps))
            row = {"backend": backend, "model": model, "weights": weights, "runner": runner.describe(),
                   **{k: median_of(v) for k, v in runs.items()}, "rounds": runs}
            rows.append(row)
            print(f"done {cfg}", flush=True)
    print(f"\nLR {w}x{h} -> {4 * w}x{4 * h}, {args.frames} frames, {args.threads} torch thread(s), "
          f"median of {args.rounds} rounds, load avg {load_before[0]:.1f}; "
          f"camera = paced at {args.camera_fps:g} fps, drop-oldest")
    head = (f"{'backend:model':<26}{'bare fps':>9}{'bare ms':>9}{'file fps':>9}{'file/bare':>10}"
            f"{'file p50 ms':>12}{'cam fps':>9}{'cam drop %':>11}{'cam p50 ms':>11}{'cam p95 ms':>11}")
    print(head)
    for r in rows:
        b, f, c = r["bare"], r["file"], r["camera"]
        r["file_vs_bare_throughput"] = f["fps"] / b["fps"]
        print(f"{r['backend'] + ':' + r['model']:<26}{b['fps']:>9.1f}{b['ms_per_frame']:>9.1f}{f['fps']:>9.1f}"
              f"{r['file_vs_bare_throughput']:>10.2f}{f['latency_p50_ms']:>12.0f}{c['fps']:>9.1f}"
              f"{100 * c['dropped'] / max(1, c['captured']):>11.0f}{c['latency_p50_ms']:>11.0f}"
              f"{c['latency_p95_ms']:>11.0f}")
    env = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "threads": args.threads,
           "torch": torch.__version__, "opencv": cv2.__version__, "loadavg_before": load_before,
           "loadavg_after": os.getloadavg(), "size": args.size, "frames": args.frames, "camera_fps": args.camera_fps,
           "camera_seconds": args.camera_seconds, "rounds": args.rounds}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    print(f"wrote {RESULTS / 'pipeline.json'}")


if __name__ == "__main__":
    main()
