"""Shared fixtures: the ../shared data folder and small real videos the tests encode themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEVSR_SHARED", ROOT.parent / "shared")) / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} not present")
    return SHARED


def moving_clip(n: int = 8, h: int = 64, w: int = 96, seed: int = 0) -> list[np.ndarray]:
    """A textured image panned by a few pixels per frame (real motion for flow/warp code)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h + 4 * n, w + 4 * n, 3), dtype=np.uint8)
    import cv2

    base = cv2.GaussianBlur(base, (5, 5), 1.0)
    return [np.ascontiguousarray(base[2 * i: 2 * i + h, 3 * i: 3 * i + w]) for i in range(n)]


def write_video(path: Path, frames: list[np.ndarray], fps: int = 24, audio: bool = False) -> Path:
    """Encode frames as H.264 (+ optional AAC silence) with PyAV: a real compressed file."""
    import av

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = "yuv420p"
        a = c.add_stream("aac", rate=44100) if audio else None
        for f in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a is not None:
            for i in range(int(44100 * len(frames) / fps / 1024) + 1):
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 44100, i * 1024
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path


@pytest.fixture
def clip() -> list[np.ndarray]:
    return moving_clip()
