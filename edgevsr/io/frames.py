"""Reading frames from video files, frame folders and single images, one at a time (bounded memory)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.io.limits import check_input_size

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXTS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".y4m"}


def natural_key(path: Path) -> list:
    """Sort key that puts im2 before im10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=natural_key)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the image header, without decoding the pixels (None when unknown)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # only the header is read: no bomb to defuse
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # not an image PIL knows, or a header it rejects: OpenCV decides below
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_image(path: Path) -> np.ndarray:
    """An 8-bit RGB image as HxWx3 uint8; alpha, 16-bit and grey images are refused by name."""
    if not path.is_file():
        raise EdgeVSRError(f"{path}: file not found")
    size = image_size(path)
    if size is not None:
        check_input_size(*size, str(path))
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise EdgeVSRError(f"{path}: cannot read ({exc.strerror})") from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise EdgeVSRError(f"{path}: not a readable image")
    if img.dtype != np.uint8:
        raise EdgeVSRError(f"{path}: {img.dtype} samples ({8 * img.dtype.itemsize}-bit); edgevsr reads 8-bit RGB, "
                           "convert it first (e.g. ffmpeg -i in.png -pix_fmt rgb24 out.png)")
    if img.ndim == 2 or img.shape[2] == 1:
        raise EdgeVSRError(f"{path}: single-channel (grey) image; edgevsr reads 8-bit RGB")
    if img.shape[2] == 4:
        raise EdgeVSRError(f"{path}: image has an alpha channel; flatten it to RGB first")
    check_input_size(img.shape[1], img.shape[0], str(path))
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@dataclass
class SourceInfo:
    path: Path
    kind: str  # "video" | "folder" | "image"
    width: int
    height: int
    fps: float
    frame_count: int | None  # None when the container does not say
    has_audio: bool = False
    names: list[str] | None = None  # frame names (folders), for matching outputs to ground truth
    duration: float | None = None  # seconds the container declares (videos)


# Decoding may end this many frames (or this share of the declared count) short of what the container
# declares before the input counts as damaged: encoders round durations, and edit lists drop a frame or two.
SHORT_FRAMES, SHORT_SHARE = 2, 0.02


class FrameSource:
    """Iterate RGB uint8 frames of a video, a frame folder or an image; sizes are checked to stay constant.

    A video that decodes fewer frames than its container declares (truncated download, damaged file) or
    fails mid-stream is an error naming where decoding stopped; with ``allow_partial`` the frames that
    decoded are kept and :attr:`partial` says how much was lost. :attr:`last_time` is the presentation
    time (s) of the frame last yielded, so writers keep variable frame rates.
    """

    def __init__(self, path: str | Path, fps: float = 25.0, allow_partial: bool = False):
        self.path = Path(path)
        self.allow_partial = allow_partial
        self.partial: str | None = None
        self.last_time: float | None = None
        if not self.path.exists():
            raise EdgeVSRError(f"{self.path}: no such file or folder")
        if self.path.is_dir():
            self._files = list_images(self.path)
            if not self._files:
                raise EdgeVSRError(f"{self.path}: folder holds no images ({', '.join(sorted(IMAGE_EXTS))})")
            first = read_image(self._files[0])
            self.info = SourceInfo(self.path, "folder", first.shape[1], first.shape[0], fps, len(self._files),
                                   names=[p.name for p in self._files])
        elif self.path.suffix.lower() in IMAGE_EXTS:
            first = read_image(self.path)
            self._files = [self.path]
            self.info = SourceInfo(self.path, "image", first.shape[1], first.shape[0], fps, 1,
                                   names=[self.path.name])
        else:
            self._files = None
            self.info = self._probe_video()

    def _probe_video(self) -> SourceInfo:
        import av

        try:
            with av.open(str(self.path)) as c:
                if not c.streams.video:
                    raise EdgeVSRError(f"{self.path}: no video stream")
                vs = c.streams.video[0]
                rate = vs.average_rate or vs.guessed_rate
                fps = float(rate) if rate else 25.0
                count = vs.frames or None
                w, h = vs.codec_context.width, vs.codec_context.height
                has_audio = bool(c.streams.audio)
                duration = float(vs.duration * vs.time_base) if vs.duration and vs.time_base else \
                    (c.duration / 1e6 if c.duration else None)
        except EdgeVSRError:
            raise
        except Exception as exc:
            raise EdgeVSRError(f"{self.path}: not a readable video ({first_line(exc)})") from None
        if not w or not h:
            raise EdgeVSRError(f"{self.path}: video stream has no frame size")
        check_input_size(w, h, str(self.path))
        if count is None and duration:
            count = max(1, round(duration * fps))
        return SourceInfo(self.path, "video", w, h, fps, count, has_audio, duration=duration)

    def __iter__(self) -> Iterator[np.ndarray]:
        n = 0
        for frame in self._frames():
            if frame.shape[:2] != (self.info.height, self.info.width):
                raise EdgeVSRError(f"{self.path}: frame {n} is {frame.shape[1]}x{frame.shape[0]}, "
                                   f"earlier frames are {self.info.width}x{self.info.height}")
            n += 1
            yield frame
        if n == 0:
            raise EdgeVSRError(f"{self.path}: video has no frames")
        declared = self.info.frame_count
        short = declared and n < declared - max(SHORT_FRAMES, SHORT_SHARE * declared)
        if self.info.kind == "video" and self.partial is None and short:
            self._damaged(n, f"the container declares {declared} frames")

    def _damaged(self, n: int, why: str) -> None:
        at = f" ({self.last_time:.2f} s)" if self.last_time is not None else ""
        if not self.allow_partial:
            raise EdgeVSRError(f"{self.path}: damaged or truncated: decoding stopped after frame {n}{at} but {why}; "
                               "nothing written (--allow-partial keeps the frames that decoded)")
        self.partial = f"{self.path}: damaged or truncated: kept the {n} frames that decoded{at}; {why}"

    def _frames(self) -> Iterator[np.ndarray]:
        if self._files is not None:
            for i, p in enumerate(self._files):
                self.last_time = i / self.info.fps
                yield read_image(p)
            return
        import av

        n = 0
        try:
            with av.open(str(self.path)) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in c.decode(stream):
                    img = frame.to_ndarray(format="rgb24")
                    self.last_time = frame.time if frame.time is not None else n / self.info.fps
                    n += 1
                    yield img
        except av.FFmpegError as exc:
            if n == 0:
                raise EdgeVSRError(f"{self.path}: video is damaged or truncated ({first_line(exc)})") from None
            self._damaged(n, f"the decoder failed: {first_line(exc)}")
