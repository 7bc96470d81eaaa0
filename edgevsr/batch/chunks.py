"""Cutting a video into chunks that upscale to the same pictures as one sequential run.

A probe pass decodes the video once and records every frame's timestamp and the scene
cuts (the runtime's detector). Chunks start at cuts, where a sequential run resets its
recurrent state anyway, and are split to at most ``max_frames``. A chunk that starts
mid-shot first runs ``lead`` earlier frames, whose outputs are thrown away, so that its
recurrent state has converged to the sequential one by its first kept frame; windowed
models need exactly ``r`` frames of context on each side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import COLOUR_FIELDS, FrameSource
from edgevsr.scene import is_scene_cut, thumbnail


@dataclass
class VideoPlan:
    """What the probe learnt about one video: enough to decode any frame range and encode alike."""

    frames: int
    pts: list[int]
    time_base: tuple[int, int]
    fps: float
    width: int
    height: int
    cuts: list[int]  # frame indices that start a new shot (0 excluded)
    pix_fmt: str
    colour: dict[str, int]
    seconds: float  # probe wall time (the decode pass), for the cost model
    bits: int = 8  # bits per sample of the source; above 8 frames travel as rgb48 and stay deep
    rotation: int = 0  # display rotation the output keeps
    last_duration: int = 0  # the last frame's duration (time base units): the output's length and rate need it

    @property
    def rgb_format(self) -> str:
        return "rgb48le" if self.bits > 8 else "rgb24"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> VideoPlan:
        return cls(**{**d, "time_base": tuple(d["time_base"])})


@dataclass(frozen=True)
class Chunk:
    """Output frames [start, end) of one input, decoded from ``start - lead`` to ``end + tail``."""

    input_index: int
    index: int
    start: int
    end: int
    lead: int = 0
    tail: int = 0

    @property
    def frames(self) -> int:
        return self.end - self.start


def probe_video(path: Path, scene_cut: float) -> VideoPlan:
    """Decode ``path`` once through the media layer (damaged or truncated input is refused as `upscale` refuses
    it): timestamps, size, pixel format, colour tags, rotation and scene cuts."""
    import time

    t0 = time.perf_counter()
    src = FrameSource(path, deep=True)
    info = src.info
    if info.kind != "video" or info.time_base is None:
        raise EdgeVSRError(f"{path}: not a video file")
    pts: list[int] = []
    cuts: list[int] = []
    prev = None
    for i, frame in enumerate(src):
        if src.last_pts is None:
            raise EdgeVSRError(f"{path}: frame {i} has no timestamp; remux it first (ffmpeg -i IN -c copy OUT)")
        if pts and src.last_pts <= pts[-1]:
            raise EdgeVSRError(f"{path}: timestamps go backwards at frame {i}; remux it first")
        pts.append(int(src.last_pts))
        thumb = thumbnail(frame)  # exactly what `upscale` compares
        if is_scene_cut(prev, thumb, scene_cut):
            cuts.append(i)
        prev = thumb
    tb = info.time_base
    last = src.last_duration or max(1, round(tb[1] / (tb[0] * info.fps)))
    colour = {k: int(info.colour.get(k, 0)) for k in COLOUR_FIELDS}
    return VideoPlan(len(pts), pts, tb, info.fps, info.width, info.height, cuts, info.pix_fmt, colour,
                     time.perf_counter() - t0, info.bits, info.rotation, int(last))


def plan_chunks(input_index: int, plan: VideoPlan, max_frames: int, lead: int, tail: int = 0) -> list[Chunk]:
    """Shots from the cuts, each split into pieces of at most ``max_frames``; mid-shot pieces get a lead-in."""
    if max_frames < 1:
        raise EdgeVSRError(f"chunk length must be at least one frame, got {max_frames}")
    bounds = [0, *plan.cuts, plan.frames]
    chunks: list[Chunk] = []
    for shot_start, shot_end in zip(bounds, bounds[1:]):
        for start in range(shot_start, shot_end, max_frames):
            end = min(start + max_frames, shot_end)
            chunks.append(Chunk(input_index, len(chunks), start, end, min(lead, start - shot_start),
                                min(tail, shot_end - end)))
    return chunks


def read_frames(path: Path, plan: VideoPlan, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB frame) for frames [first, last): seek to the keyframe before, decode forward (media layer)."""
    want = plan.pts[first]
    src = FrameSource(path, deep=plan.bits > 8)
    index = None
    for frame in src.decode(first, seek_pts=want):
        if index is None:
            if src.last_pts is None or src.last_pts > want:  # seek overshot: decode from the start instead
                yield from _read_from_start(path, plan, first, last)
                return
            if src.last_pts < want:
                continue
            index = first
        if src.last_pts != plan.pts[index]:
            raise EdgeVSRError(f"{path}: frame {index} has timestamp {src.last_pts}, the probe saw "
                               f"{plan.pts[index]}; the file changed or decodes differently")
        yield index, frame
        index += 1
        if index >= last:
            return
    raise EdgeVSRError(f"{path}: ended at frame {index} of {plan.frames}; the file changed since it was probed")


def _read_from_start(path: Path, plan: VideoPlan, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
    src = FrameSource(path, deep=plan.bits > 8)
    for i, frame in enumerate(src.decode()):
        if i >= last:
            return
        if i >= first:
            yield i, frame
