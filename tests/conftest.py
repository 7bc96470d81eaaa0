"""Shared fixtures: the licensed footage and checkpoints in tests/data, and small real videos the tests encode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # see its README.md: sources and licences


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory) -> Path:
    """tests/data, plus ``clip/``: the fixture clip decoded once to im1.png ... im30.png (416x240 real footage)."""
    import shutil

    import av
    import cv2

    root = tmp_path_factory.mktemp("fixtures")
    for name in ("footage", "lpips-ref", "pretrained"):
        shutil.copytree(DATA / name, root / name)
    (root / "clip").mkdir()
    with av.open(str(DATA / "footage" / "juggle_lawn_416x240.mp4")) as c:
        for i, f in enumerate(c.decode(video=0), 1):
            rgb = f.to_ndarray(format="rgb24")
            cv2.imwrite(str(root / "clip" / f"im{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root


def photo() -> np.ndarray:
    """A real photograph shipped by matplotlib (grace_hopper.jpg, 512x600), RGB uint8: the demo's photo."""
    from edgevsr.demo import sample_photo

    return sample_photo()


def moving_clip(n: int = 8, h: int = 64, w: int = 96, seed: int = 0) -> list[np.ndarray]:
    """A window panned across a real photo by (2, 3) px per frame: real texture and real motion."""
    from edgevsr.demo import pan_clip

    return pan_clip(n, h, w, seed)


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
            mux_silence(c, a, len(frames) / fps)
    return path


def mux_silence(container, stream, seconds: float) -> None:
    """Encode and mux ``seconds`` of silent mono audio (44.1 kHz, 1024-sample frames) into an open container."""
    import av

    for i in range(int(44100 * seconds / 1024) + 1):
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 44100, i * 1024
        for p in stream.encode(af):
            container.mux(p)
    for p in stream.encode():
        container.mux(p)


@pytest.fixture
def clip() -> list[np.ndarray]:
    return moving_clip()


def run_cli(*args) -> tuple[int, str]:
    """The real CLI entry point, in process (no interpreter start-up per call): (exit code, stderr)."""
    import contextlib
    import io
    import sys

    from edgevsr.cli.main import main

    err = io.StringIO()
    argv, sys.argv = sys.argv, ["edgevsr", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return code, err.getvalue()


@pytest.fixture
def one_torch_thread():
    """For pipeline tests (they have their own threads): one intra-op thread avoids oversubscribing a 2-core box."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
