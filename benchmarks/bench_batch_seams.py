"""Seam cost of `edgevsr batch` chunking vs one sequential run, on real clips: the measurement that picks K.

    python benchmarks/bench_batch_seams.py [--models egvsr-lite,egvsr] [--frames 40] [--start 20] [--keep 12]
        [--leads 0,1,2,4,8,12,16] [--scale 0.5] [--clips PATH,...]

For each clip (its first ``--frames`` frames, resized by ``--scale`` to keep CPU time sane) the
sequential run is what `edgevsr upscale` computes (state reset at scene cuts). A chunk starting
mid-shot at frame ``--start`` is then run exactly as a batch worker runs it: ``K`` lead-in frames
from a fresh state, their outputs dropped, then ``--keep`` frames compared with the sequential
outputs (PSNR-Y, 8-pixel border, uint8). Also checked: a chunk starting at a scene cut (clip B
appended to clip A) matches bit for bit. Prints a table, writes benchmarks/results/batch_seams.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.io.frames import FrameSource
from edgevsr.quality.metrics import psnr
from edgevsr.scene import DEFAULT_THRESHOLD, is_scene_cut, thumbnail
from edgevsr.stream import FrameUpscaler

RESULTS = Path(__file__).parent / "results"
DOC = Path("/usr/share/doc/opencv-doc/examples/data")
CLIPS = [DOC / "tree.avi", DOC / "vtest.avi", DOC / "Megamind.avi"]


def load(path: Path, n: int, scale: float) -> list[np.ndarray]:
    frames = []
    for f in FrameSource(path):
        frames.append(cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale != 1 else f)
        if len(frames) == n:
            break
    return frames


def db(x: float) -> float | None:
    return None if math.isinf(x) else round(x, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="egvsr-lite,egvsr")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--start", type=int, default=20)
    ap.add_argument("--keep", type=int, default=12)
    ap.add_argument("--leads", default="0,1,2,4,8,12,16")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--clips", default=",".join(map(str, CLIPS)))
    ap.add_argument("--out", type=Path, default=RESULTS / "batch_seams.json")
    a = ap.parse_args()
    leads = [int(k) for k in a.leads.split(",") if k]
    clips = [Path(p) for p in a.clips.split(",") if Path(p).is_file()]
    rows = []
    for model in a.models.split(","):
        runner, weights = make_runner(RunnerConfig(model=model))
        with runner:
            for clip in clips:
                frames = load(clip, a.frames, a.scale)
                seq = list(FrameUpscaler(runner).run(frames, scene_cut=DEFAULT_THRESHOLD))
                t0 = time.perf_counter()
                for k in leads:
                    lo = a.start - k
                    out = list(FrameUpscaler(runner).run(frames[lo: a.start + a.keep]))[k:]
                    scores = [psnr(o, r) for o, r in zip(out, seq[a.start: a.start + a.keep])]
                    rows.append({"model": model, "weights": weights, "clip": clip.name,
                                 "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "lead": k,
                                 "min_psnr_y": db(min(scores)), "first_psnr_y": db(scores[0]),
                                 "identical": all(np.array_equal(o, r) for o, r in
                                                  zip(out, seq[a.start: a.start + a.keep]))})
                    r = rows[-1]
                    print(f"{model:11s} {clip.name:13s} K={k:2d}  min PSNR-Y {r['min_psnr_y']} dB  "
                          f"first {r['first_psnr_y']} dB  identical={r['identical']}", flush=True)
                # a chunk that starts at a cut: clip frames then another clip's, chunk from the cut
                nxt = clips[(clips.index(clip) + 1) % len(clips)]
                other = load(nxt, 8, a.scale) if nxt != clip else [255 - f for f in frames[::-1][:8]]
                other = [cv2.resize(o, frames[0].shape[1::-1], interpolation=cv2.INTER_AREA) for o in other]
                joined = frames[:12] + other
                whole = list(FrameUpscaler(runner).run(joined, scene_cut=DEFAULT_THRESHOLD))
                assert is_scene_cut(thumbnail(joined[11]), thumbnail(joined[12]), DEFAULT_THRESHOLD)
                chunk = list(FrameUpscaler(runner).run(other))
                rows.append({"model": model, "clip": clip.name, "cut_chunk_identical":
                             all(np.array_equal(x, y) for x, y in zip(whole[12:], chunk))})
                print(f"{model:11s} {clip.name:13s} chunk at a scene cut identical: {rows[-1]['cut_chunk_identical']}"
                      f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()}, "threads": torch.get_num_threads(),
                                 "rows": rows}, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
