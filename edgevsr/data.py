"""Training data: decode real clips into frame folders with an index, and sample augmented windows from them.

``build_dataset`` turns videos (``.mp4.gz`` too) into PNG frame folders, drops
static/duplicate frames (they teach the recurrent model nothing about motion),
and turns still photos into short clips with smooth synthetic camera motion
(pan, zoom, small rotation, sub-pixel steps). Each clip gets a split
(train/val/test) by name, so whole clips are held out, never frames of a
training clip. ``WindowSampler`` serves random temporal windows with random
crops, flips and temporal reversal; LR frames are made on the fly by the trainer
with :func:`edgevsr.degrade.degrade_tensor`.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import IMAGE_EXTS, FrameSource, list_images, read_image

INDEX_NAME = "index.json"
SPLITS = ("train", "val", "test")


@dataclass
class BuildOptions:
    min_diff: float = 0.5  # mean |grey difference| (0..255) to the last kept frame below which a frame is dropped
    max_height: int = 0  # area-downscale taller sources to this height (0 = keep); cleans compression noise
    synth_frames: int = 30  # frames per synthetic camera-motion clip made from a still photo
    synth_size: int = 256  # side of the synthetic clip's square frames
    synth_blur: float = 0.0  # shutter as a fraction of the frame interval: motion blur of synthetic clips (0 = off)
    synth_parallax: float = 0.0  # planar parallax: the pan speed varies by +-this fraction from top to bottom row
    allow_partial: bool = False  # keep the frames that decode from a damaged video (recorded in the index)
    seed: int = 0


def clip_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz",) + tuple(IMAGE_EXTS):
        name = name.removesuffix(suffix)
    return Path(name).stem


def _decoded(path: Path, tmp: Path) -> Path:
    """A gzip-compressed video is unpacked to a temporary file (opencv-doc ships box.mp4.gz, cup.mp4.gz)."""
    if path.suffix != ".gz":
        return path
    out = tmp / path.name.removesuffix(".gz")
    try:
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (OSError, EOFError) as exc:
        raise EdgeVSRError(f"{path}: not a readable gzip file ({exc})") from None
    return out


def _resize_to_height(frame: np.ndarray, max_height: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if not max_height or h <= max_height:
        return frame
    nw = round(w * max_height / h)
    return cv2.resize(frame, (nw, max_height), interpolation=cv2.INTER_AREA)


def filter_static(frames: Iterable[np.ndarray], min_diff: float) -> Iterator[tuple[np.ndarray, bool]]:
    """Yield (frame, kept): a frame is dropped when it barely differs from the last kept one."""
    last = None
    for f in frames:
        grey = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)
        keep = last is None or float(np.abs(grey - last).mean()) >= min_diff
        if keep:
            last = grey
        yield f, keep


def synthetic_motion(photo: np.ndarray, n: int, size: int, rng: np.random.Generator, blur: float = 0.0,
                     parallax: float = 0.0) -> list[np.ndarray]:
    """Frames of a virtual camera gliding over a photo: linear pan, zoom and rotation, sub-pixel steps.

    ``blur`` > 0 averages sub-frame positions over that fraction of the frame interval (a camera shutter: real
    pans are motion-blurred, and a model trained only on razor-sharp pans over-sharpens real ones).
    ``parallax`` > 0 makes the pan a tilted ground plane seen by a translating camera: the image moves
    (1 - parallax) x as fast at the top row as the mean and (1 + parallax) x at the bottom (a homography), so
    the flow is not one global shift.
    """
    h, w = photo.shape[:2]
    side = min(size, h, w)
    speed = rng.uniform(0.3, 3.0)  # HR pixels per frame
    angle = rng.uniform(0, 2 * np.pi)
    vx, vy = speed * np.cos(angle), speed * np.sin(angle)
    zoom_end = rng.uniform(0.93, 1.07)
    rot_end = rng.uniform(-3.0, 3.0)  # degrees over the clip
    margin = side / 2 * 1.12 + speed * n * (1 + parallax)
    cx0 = rng.uniform(min(margin, w / 2), max(w - margin, w / 2))
    cy0 = rng.uniform(min(margin, h / 2), max(h - margin, h / 2))
    taps = max(1, int(np.ceil(blur * speed * 2))) if blur > 0 else 1  # ~0.5 px between shutter samples
    rows = (np.arange(side, dtype=np.float32) / max(side - 1, 1) - 0.5) * 2 * parallax  # -p..+p, top to bottom

    def view(t: float) -> np.ndarray:
        a, shift = t / max(n - 1, 1), t - n / 2
        if not parallax:  # one global motion: rotate and zoom about the moving view centre
            cx, cy = cx0 + vx * shift, cy0 + vy * shift
            m = cv2.getRotationMatrix2D((cx, cy), rot_end * a, 1 + (zoom_end - 1) * a)
            m[0, 2] += side / 2 - cx
            m[1, 2] += side / 2 - cy
            return cv2.warpAffine(photo, m, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        m = cv2.getRotationMatrix2D((cx0, cy0), rot_end * a, 1 + (zoom_end - 1) * a)
        m[0, 2] += side / 2 - cx0
        m[1, 2] += side / 2 - cy0
        # inverse map: output pixel (x, y) samples the photo at M^-1 (x + v t (1 + r_y), y + ...)
        inv = cv2.invertAffineTransform(m)
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
        k = (1 + rows)[:, None] * shift
        px, py = xs + vx * k, ys + vy * k
        mx = inv[0, 0] * px + inv[0, 1] * py + inv[0, 2]
        my = inv[1, 0] * px + inv[1, 1] * py + inv[1, 2]
        return cv2.remap(photo, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT)

    frames = []
    for i in range(n):
        if taps == 1:
            frames.append(view(float(i)))
            continue
        acc = np.zeros((side, side, photo.shape[2]), np.float32)
        for j in range(taps):
            acc += view(i + blur * ((j + 0.5) / taps - 0.5))
        frames.append(np.clip(acc / taps + 0.5, 0, 255).astype(np.uint8))
    return frames


def split_of(name: str, val: Iterable[str], test: Iterable[str]) -> str:
    if name in set(val):
        return "val"
    if name in set(test):
        return "test"
    return "train"


def build_dataset(sources: list[Path], out: Path, opts: BuildOptions | None = None, val: Iterable[str] = (),
                  test: Iterable[str] = (), progress=None) -> dict:
    """Decode ``sources`` into ``out/<clip>/NNNNNN.png`` and write ``out/index.json``; returns the index."""
    opts = opts or BuildOptions()
    val, test = list(val), list(test)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(opts.seed)
    names = [clip_name(Path(s)) for s in sources]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise EdgeVSRError(f"{out}: two sources would share the clip name {sorted(dupes)[0]!r}; rename one")
    unknown = [n for n in val + test if n not in names]
    if unknown:
        raise EdgeVSRError(f"held-out clip {unknown[0]!r} is not among the sources ({', '.join(names)})")
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for src, name in zip(sources, names, strict=True):
            src = Path(src)
            if not src.exists():
                raise EdgeVSRError(f"{src}: no such file or folder")
            is_photo = src.suffix.lower() in IMAGE_EXTS
            if is_photo:
                photo = _resize_to_height(read_image(src), opts.max_height * 2 if opts.max_height else 0)
                frames = synthetic_motion(photo, opts.synth_frames, opts.synth_size, rng, opts.synth_blur,
                                          opts.synth_parallax)
                kind = "synthetic"
            else:
                source = FrameSource(_decoded(src, Path(tmp)), allow_partial=opts.allow_partial)
                frames = (_resize_to_height(f, opts.max_height) for f in source)
                kind = "video"
            clip_dir = out / name
            if clip_dir.exists():
                shutil.rmtree(clip_dir)
            clip_dir.mkdir()
            kept = dropped = 0
            shape = None
            for frame, keep in filter_static(frames, 0.0 if is_photo else opts.min_diff):
                if not keep:
                    dropped += 1
                    continue
                shape = frame.shape
                target = clip_dir / f"{kept:06d}.png"
                if not cv2.imwrite(str(target), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                    raise EdgeVSRError(f"{target}: write failed (disk full?)")
                kept += 1
            clips.append({"name": name, "source": str(src), "kind": kind, "split": split_of(name, val, test),
                          "frames": kept, "dropped": dropped, "width": shape[1], "height": shape[0]})
            if not is_photo and source.partial:
                clips[-1]["partial"] = source.partial
            if progress:
                progress(clips[-1])
    index = {"version": 1, "options": vars(opts), "clips": clips}
    (out / INDEX_NAME).write_text(json.dumps(index, indent=2))
    return index


def read_index(root: Path) -> dict:
    path = Path(root) / INDEX_NAME
    if not path.is_file():
        raise EdgeVSRError(f"{path}: dataset index not found; build it with `edgevsr dataset build`")
    try:
        index = json.loads(path.read_text())
        clips = index["clips"]
        for c in clips:
            c["name"], c["split"], c["frames"]  # noqa: B018  (presence check)
    except (ValueError, KeyError, TypeError) as exc:
        raise EdgeVSRError(f"{path}: not a dataset index ({type(exc).__name__}: {exc})") from None
    return index


def load_clip(root: Path, name: str, limit: int | None = None) -> np.ndarray:
    """All frames of one clip as (T, H, W, 3) uint8."""
    files = list_images(Path(root) / name)[:limit]
    if not files:
        raise EdgeVSRError(f"{Path(root) / name}: clip has no frames")
    return np.stack([read_image(p) for p in files])


class WindowSampler:
    """Random (window, crop) samples from the clips of one split, held in memory as uint8.

    Clips are drawn in proportion to how many windows they hold, within their kind's share when
    ``kind_share`` is given ({"video": 0.8, "synthetic": 0.2}: camera footage and panned stills differ in
    motion and noise, and a set's mix of the two follows what was at hand, not what the model should see).
    Each sample is flipped horizontally/vertically and reversed in time with probability 1/2.
    """

    def __init__(self, root: Path, split: str = "train", window: int = 10, crop: int = 128, seed: int = 0,
                 kind_share: dict[str, float] | None = None):
        index = read_index(root)
        self.clips, kinds = [], []
        for c in index["clips"]:
            if c["split"] != split:
                continue
            if c["frames"] < window or min(c["width"], c["height"]) < crop:
                continue  # too short or too small for a sample
            self.clips.append(load_clip(root, c["name"]))
            kinds.append(c.get("kind", "video"))
        if not self.clips:
            raise EdgeVSRError(f"{root}: no {split} clip holds {window} frames of at least {crop}x{crop}")
        self.window, self.crop = window, crop
        counts = np.array([len(c) - window + 1 for c in self.clips], dtype=np.float64)
        if kind_share:
            missing = sorted(set(kinds) - set(kind_share))
            absent = sorted(set(kind_share) - set(kinds))
            if missing or absent:
                raise EdgeVSRError(f"{root}: kind_share {kind_share} must name each kind of the {split} clips "
                                   f"({', '.join(sorted(set(kinds)))}) and no other")
            total = {k: counts[[i for i, x in enumerate(kinds) if x == k]].sum() for k in set(kinds)}
            counts = np.array([kind_share[k] * n / total[k] for k, n in zip(kinds, counts, strict=True)])
            if not counts.sum() > 0:
                raise EdgeVSRError(f"{root}: kind_share {kind_share} gives every {split} clip a share of 0")
        self.weights = counts / counts.sum()
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int, window: int | None = None, crop: int | None = None) -> torch.Tensor:
        """(N, T, 3, crop, crop) float32 in [0, 1]; ``window``/``crop`` (a curriculum stage) at most the sampler's."""
        window, crop = window or self.window, crop or self.crop
        if window > self.window or crop > self.crop:
            raise EdgeVSRError(f"sample of {window} x {crop}px asked of a sampler built for {self.window} x "
                               f"{self.crop}px")
        out = np.empty((batch, window, crop, crop, 3), np.uint8)
        for b in range(batch):
            clip = self.clips[self.rng.choice(len(self.clips), p=self.weights)]
            t0 = self.rng.integers(0, len(clip) - window + 1)
            y0 = self.rng.integers(0, clip.shape[1] - crop + 1)
            x0 = self.rng.integers(0, clip.shape[2] - crop + 1)
            win = clip[t0:t0 + window, y0:y0 + crop, x0:x0 + crop]
            if self.rng.random() < 0.5:
                win = win[:, :, ::-1]
            if self.rng.random() < 0.5:
                win = win[:, ::-1]
            if self.rng.random() < 0.5:
                win = win[::-1]
            out[b] = win
        return torch.from_numpy(out).permute(0, 1, 4, 2, 3).float().div_(255)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
