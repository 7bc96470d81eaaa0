"""A sample that exists on every fresh machine: a real photo, a smooth camera move, BD x4, upscaled and scored.

The photo is matplotlib's ``grace_hopper.jpg`` (matplotlib is a dependency), so
the demo needs no download and no data folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


def sample_photo() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def camera_move(photo: np.ndarray, frames: int = 30, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """Frames of a smooth sub-pixel pan with a slow zoom and a slight rotation over ``photo`` (HR ground truth)."""
    w, h = size
    ph, pw = photo.shape[:2]
    out = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        zoom = 1.0 + 0.15 * t
        angle = 2.0 * np.sin(np.pi * t)
        cx = pw * (0.35 + 0.3 * t)
        cy = ph * (0.45 + 0.1 * np.sin(2 * np.pi * t))
        m = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
        m[:, 2] += (w / 2 - cx, h / 2 - cy)
        out.append(cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return out


def pan_clip(frames: int, height: int, width: int, seed: int = 0, photo: np.ndarray | None = None,
             ) -> list[np.ndarray]:
    """A window panned 2 px down and 3 px right per frame across ``photo`` (default: the sample photo).

    Integer motion over real texture: deterministic, and exact to check (frame i+1 is frame i shifted).
    The one synthetic clip of tests, profiling and benchmarks; :func:`camera_move` is the demo's smooth one.
    """
    base = sample_photo() if photo is None else photo
    scale = max((height + 2 * frames) / base.shape[0], (width + 3 * frames) / base.shape[1], 0.5)
    base = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    y0 = seed % max(1, base.shape[0] - height - 2 * frames)
    return [np.ascontiguousarray(base[y0 + 2 * i: y0 + 2 * i + height, 3 * i: 3 * i + width]) for i in range(frames)]


def label(frame: np.ndarray, text: str) -> np.ndarray:
    frame = frame.copy()
    cv2.putText(frame, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(frame, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return frame


@dataclass
class DemoResult:
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    video: Path | None = None
    lpips_note: str = ""


def score(outs: list[np.ndarray], gts: list[np.ndarray], lpips_model) -> dict[str, float]:
    from edgevsr.quality.lpips import lpips_frames
    from edgevsr.quality.metrics import psnr

    s = {"psnr_y": float(np.mean([psnr(o, g) for o, g in zip(outs, gts)]))}
    if lpips_model is not None:
        s["lpips"] = float(np.mean(lpips_frames(lpips_model, outs, gts)))
    return s


def run_demo(out_dir: Path, model: str = "egvsr", weights: str | None = None, frames: int = 30,
             progress=None) -> DemoResult:
    """Build the clip, degrade it (BD x4), upscale with bicubic and ``model``, write the comparison and scores."""
    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.checks import count
    from edgevsr.errors import EdgeVSRError
    from edgevsr.io.atomic import atomic_path, check_output
    from edgevsr.io.writers import FrameSink
    from edgevsr.stream import FrameUpscaler

    count(frames, "--frames")
    out_dir = check_output(out_dir, is_dir=True, flag=None)  # a new or empty folder: the demo never mixes in
    from edgevsr.quality.paired import PairedClip

    clip = PairedClip.from_frames("photo-pan", camera_move(sample_photo(), frames), "BD")
    gts, lrs = clip.gt, clip.lr
    results: dict[str, list[np.ndarray]] = {}
    sources = {}
    for name, w in (("bicubic", None), (model, weights)):
        runner, sources[name] = make_runner(RunnerConfig(model=name, weights=w))
        with runner:
            results[name] = list(FrameUpscaler(runner).run(lrs))
        if progress:
            progress(name)
    try:
        from edgevsr.quality.lpips import load_lpips

        lp, note = load_lpips(), ""
    except EdgeVSRError as exc:
        lp, note = None, f"LPIPS skipped: {exc}"
    res = DemoResult(lpips_note=note)
    for name, outs in results.items():
        res.scores[name] = score(outs, gts, lp) | {"weights": sources[name]}
    with atomic_path(out_dir, is_dir=True) as tmp:  # all three files appear together, or none
        with FrameSink(tmp / "side_by_side.mp4", fps=25, crf=16) as sink:
            for b, m, g in zip(results["bicubic"], results[model], gts):
                sink.write(np.concatenate([label(b, "bicubic"), label(m, model), label(g, "ground truth")], axis=1))
        with FrameSink(tmp / "lr_input.mp4", fps=25, crf=12) as sink:
            for lr in lrs:
                sink.write(lr)
        (tmp / "scores.json").write_text(json.dumps(res.scores, indent=2))
    res.video = out_dir / "side_by_side.mp4"
    return res
