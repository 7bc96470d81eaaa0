"""Rebuild the test fixtures in this folder from the developers' ../shared data (not needed to run the tests).

    python tests/data/make_fixtures.py [--shared ../shared]

Everything written here is small and permissively licensed: see README.md beside this script.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
CLIP = ("sam2_juggle_lawn.mp4", 30, (120, 440))  # 30 frames, crop origin (y, x) at 1280x720: juggler, trees, glass
OTHER = ("udacity_highway_540p.mp4", 10, (200, 272))  # one frame of another scene (scene-cut tests)
STRIP = ("sam2_dog_walkway.mp4", 10, 400)  # rows 400..407 of one 1280x720 frame: width is what FP16 grids feel
SIZE = (240, 416)  # h, w: the size of the BasketballPass test sequence the tests were first written on


def frames(path: Path, n: int, origin: tuple[int, int], first: int = 0) -> list[np.ndarray]:
    (y, x), (h, w) = origin, SIZE
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= first:
                out.append(np.ascontiguousarray(f.to_ndarray(format="rgb24")[y:y + h, x:x + w]))
            if len(out) == n:
                break
    return out


def encode(path: Path, clip: list[np.ndarray], fps: int = 24) -> None:
    """H.264 at CRF 10, yuv444p: near-lossless and ~20x smaller than PNG frames."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps, options={"crf": "10", "preset": "veryslow"})
        s.height, s.width = clip[0].shape[:2]
        s.pix_fmt = "yuv444p"
        for f in clip:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared")
    data = ap.parse_args().shared / "data"
    nv = data / "natural-video"
    (HERE / "footage").mkdir(exist_ok=True)
    encode(HERE / "footage" / "juggle_lawn_416x240.mp4", frames(nv / CLIP[0], CLIP[1], CLIP[2]))
    other = frames(nv / OTHER[0], 1, OTHER[2], first=OTHER[1])[0]
    cv2.imwrite(str(HERE / "footage" / "highway_416x240.png"), cv2.cvtColor(other, cv2.COLOR_RGB2BGR))
    with av.open(str(nv / STRIP[0])) as c:
        full = next(f for i, f in enumerate(c.decode(video=0)) if i == STRIP[1]).to_ndarray(format="rgb24")
    cv2.imwrite(str(HERE / "footage" / "dog_walkway_1280x8.png"),
                cv2.cvtColor(full[STRIP[2]:STRIP[2] + 8], cv2.COLOR_RGB2BGR))
    shutil.copytree(data / "lpips-ref", HERE / "lpips-ref", dirs_exist_ok=True)
    (HERE / "pretrained").mkdir(exist_ok=True)
    for name in ("vespcn_ep0500", "espcn_x4_subconv_100"):
        sd = torch.load(data / "pretrained" / f"{name}.pth", map_location="cpu", weights_only=True)
        save_file({k: v.half().contiguous() for k, v in sd.items()}, HERE / "pretrained" / f"{name}.fp16.safetensors")


if __name__ == "__main__":
    main()
