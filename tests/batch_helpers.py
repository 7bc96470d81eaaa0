"""Small real videos for the batch tests: slow pans over a real photo (no cuts) and shots joined by cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import photo, write_video

H, W = 48, 64


def pan(n: int, y0: int = 40, x0: int = 40, invert: bool = False, h: int = H, w: int = W) -> list[np.ndarray]:
    """A window moved 1 px per frame across the full-size photo: real texture, real motion, no scene cut."""
    base = photo()
    frames = [np.ascontiguousarray(base[y0 + i // 2: y0 + i // 2 + h, x0 + i: x0 + i + w]) for i in range(n)]
    return [np.ascontiguousarray(255 - f) if invert else f for f in frames]


def shots(lengths: list[int]) -> list[np.ndarray]:
    """Shots from far-apart parts of the photo, alternately inverted: a cut between each."""
    out: list[np.ndarray] = []
    for k, n in enumerate(lengths):
        out += pan(n, y0=40 + 150 * (k % 3), x0=40 + 120 * (k % 4), invert=k % 2 == 1)
    return out


def library(root: Path) -> dict[str, Path]:
    """in/a.mp4 (16 frames, AAC audio), in/sub/b.mp4 (8 + 8 frames, one cut), in/c.mp4 (truncated)."""
    (root / "sub").mkdir(parents=True)
    a = write_video(root / "a.mp4", pan(16), fps=24, audio=True)
    b = write_video(root / "sub" / "b.mp4", shots([8, 8]), fps=24)
    data = a.read_bytes()
    c = root / "c.mp4"
    c.write_bytes(data[: len(data) // 3])
    return {"a": a, "b": b, "c": c}


def decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """RGB frames and their presentation times in seconds."""
    import av

    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    return [f.to_ndarray(format="rgb24") for f in frames], [float(f.pts * f.time_base) for f in frames]


def stream_types(path: Path) -> list[str]:
    import av

    with av.open(str(path)) as c:
        return [s.type for s in c.streams]
