"""What runs on the Ray cluster: the model actor and the probe task (plain classes; Ray wraps them in job.py).

An actor loads one model (one engine per GPU) once and upscales whole chunks: it decodes its
own frames from the input and returns the encoded segment, so decoded frames never enter
the object store; the only objects in flight are the compressed segments, bounded by the
driver's in-flight limit.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.batch.chunks import Chunk, VideoPlan, probe_video, read_frames
from edgevsr.batch.stitch import encode_segment
from edgevsr.stream import FrameUpscaler, HighDepthRunner  # noqa: F401  (moved there)


def upscale_chunk(runner, source: Path, plan: VideoPlan, chunk: Chunk, crf: int) -> tuple[bytes, list]:
    """Decode the chunk with its lead-in/tail, upscale from a fresh state, encode the kept frames."""
    up = FrameUpscaler(runner)  # deep (uint16) frames run through HighDepthRunner there
    first, last = chunk.start - chunk.lead, chunk.end + chunk.tail

    def kept():
        frames = (f for _, f in read_frames(source, plan, first, last))
        for index, out in enumerate(up.run(frames), first):
            if chunk.start <= index < chunk.end:
                yield index, out

    return encode_segment(kept(), plan, crf)


def probe(path: str, scene_cut: float) -> dict:
    return probe_video(Path(path), scene_cut).to_json()


class UpscaleWorker:
    def __init__(self, cfg: RunnerConfig, name: str):
        import ray

        gpus = ray.get_gpu_ids()
        if gpus and cfg.device == "cpu":
            cfg = replace(cfg, device="cuda")  # Ray set CUDA_VISIBLE_DEVICES: this actor's GPU is cuda:0
        self.name = name
        self.runner, self.source = make_runner(cfg)
        self.runner.activate()
        self.node = ray.get_runtime_context().get_node_id()

    def info(self) -> dict:
        return {"name": self.name, "pid": os.getpid(), "host": socket.gethostname(), "node": self.node,
                "runner": self.runner.describe(), "weights": self.source,
                "kind": self.runner.spec.kind, "window": self.runner.spec.window}

    def process(self, source: str, plan_json: dict, chunk: Chunk, crf: int) -> dict:
        """Upscale one chunk (lead-in frames run and dropped); returns the segment and its timings."""
        t0 = time.perf_counter()
        data, stamps = upscale_chunk(self.runner, Path(source), VideoPlan.from_json(plan_json), chunk, crf)
        return {"data": data, "stamps": stamps, "frames": chunk.frames,
                "decoded": chunk.lead + chunk.frames + chunk.tail,
                "seconds": time.perf_counter() - t0, "worker": self.name, "pid": os.getpid(), "node": self.node}
