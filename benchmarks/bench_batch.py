"""Throughput of `edgevsr batch` with 1 worker vs 2 on this machine, side by side in one run, plus its overheads.

    python benchmarks/bench_batch.py [--model egvsr-lite] [--videos 2] [--frames 48] [--size 96x64]
        [--chunk-frames 12] [--rounds 2]

One local Ray (2 CPUs) serves every configuration; each round runs 1 worker, then 2 workers, on the
same library of real-texture clips (a photo panned), so a busy neighbour hits both alike. Also
measured in-process for the cost model: the bare model (FrameUpscaler, 1 thread), the probe
decode pass and stitching. Prints a table, writes benchmarks/results/batch_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.batch.chunks import probe_video
from edgevsr.batch.job import run_batch
from edgevsr.stream import FrameUpscaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from batch_helpers import pan  # noqa: E402  (a real photo panned 1 px/frame: the tests' clip maker)
from conftest import write_video  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="egvsr-lite")
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", default="96x64")
    ap.add_argument("--chunk-frames", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS / "batch_scaling.json")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    tmp = Path(tempfile.mkdtemp(prefix="edgevsr-bench-batch-"))
    lib = tmp / "in"
    lib.mkdir()
    clips = [pan(a.frames, y0=30 + 60 * k, x0=30 + 40 * k, h=h, w=w) for k in range(a.videos)]
    for k, frames in enumerate(clips):
        write_video(lib / f"v{k}.mp4", frames, fps=24)
    total = a.videos * a.frames
    cfg = RunnerConfig(model=a.model)

    torch.set_num_threads(1)
    runner, weights = make_runner(cfg)
    with runner:
        t0 = time.perf_counter()
        for frames in clips:
            list(FrameUpscaler(runner).run(frames))
        bare_fps = total / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    plans = [probe_video(p, 0.1) for p in sorted(lib.iterdir())]
    probe_fps = total / (time.perf_counter() - t0)
    cuts = sum(len(p.cuts) for p in plans)

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - t0
    runs: dict[int, list[dict]] = {1: [], 2: []}
    try:
        for r in range(a.rounds):
            for n in (1, 2):
                out = tmp / f"out-{n}-{r}"
                s = run_batch([lib], out, cfg, workers=n, chunk_seconds=a.chunk_frames / 24)
                assert s["failed"] == 0, s
                runs[n].append({"seconds": s["seconds"], "fps": s["fps"], "workers": s["workers"],
                                "chunks": sum(i["chunks"] for i in s["inputs"])})
                print(f"round {r}: {n} worker(s): {s['frames']} frames in {s['seconds']:.1f} s = {s['fps']:.2f} fps",
                      flush=True)
    finally:
        ray.shutdown()
    fps = {n: statistics.median(x["fps"] for x in runs[n]) for n in runs}
    ratios = [b["fps"] / a_["fps"] for a_, b in zip(runs[1], runs[2])]
    result = {"model": a.model, "weights": weights, "size": a.size, "videos": a.videos, "frames_per_video": a.frames,
              "scene_cuts": cuts, "chunk_frames": a.chunk_frames, "rounds": a.rounds, "cpus": os.cpu_count(),
              "loadavg_before": os.getloadavg(), "bare_model_fps_1_thread": round(bare_fps, 3),
              "probe_decode_fps": round(probe_fps, 1), "ray_start_s": round(ray_start, 2),
              "fps_1_worker": round(fps[1], 3), "fps_2_workers": round(fps[2], 3),
              "ratio_2_vs_1": round(statistics.median(ratios), 3), "ratio_per_round": [round(x, 3) for x in ratios],
              "runs": runs}
    print(f"{'config':24s} {'frames/s':>9s}")
    print(f"{'bare model, 1 thread':24s} {bare_fps:9.2f}")
    print(f"{'batch, 1 worker':24s} {fps[1]:9.2f}")
    print(f"{'batch, 2 workers':24s} {fps[2]:9.2f}")
    print(f"2 workers / 1 worker = {result['ratio_2_vs_1']:.2f} (per round {result['ratio_per_round']}); "
          f"probe decode {probe_fps:.0f} fps; Ray start {ray_start:.1f} s; load {os.getloadavg()[0]:.1f}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
