"""Reading frames from video files, frame folders and single images, one at a time (bounded memory)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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


COLOUR_FIELDS = ("color_primaries", "color_trc", "colorspace", "color_range")


@dataclass
class SourceInfo:
    path: Path
    kind: str  # "video" | "folder" | "image"
    width: int
    height: int
    fps: float
    frame_count: int | None  # None when unknown; for progress (an estimate where count_exact is False)
    has_audio: bool = False
    names: list[str] | None = None  # frame names (folders), for matching outputs to ground truth
    duration: float | None = None  # seconds the container declares (videos)
    count_exact: bool = True  # frame_count is a count the container stores (MP4), not duration x rate (MKV)
    bits: int = 8  # bits per sample; above 8, frames come out as uint16 (rgb48) and stay deep
    rotation: int = 0  # display rotation (degrees counter-clockwise) the container asks players to apply
    colour: dict[str, int] = field(default_factory=dict)  # colour tags to copy (primaries, transfer, matrix, range)
    time_base: tuple[int, int] | None = None  # the stream's, for exact timestamps (videos)
    pix_fmt: str = "rgb24"  # the decoder's pixel format (videos)

    @property
    def rgb_format(self) -> str:
        return "rgb48le" if self.bits > 8 else "rgb24"


# Decoding may end this many frames (or this share of the declared count) short of what the container
# declares before the input counts as damaged: encoders round durations, and edit lists drop a frame or two.
SHORT_FRAMES, SHORT_SHARE = 2, 0.02


class FrameSource:
    """Iterate RGB frames of a video, a frame folder or an image; sizes are checked to stay constant.

    The one reader of edgevsr: `upscale`, `run`, `eval`, `degrade` and the batch probe and workers decode
    through it, so damaged input is refused the same way everywhere. A video that ends short of what its
    container declares (an exact frame count where the container stores one, else its duration: MKV/WebM
    only estimate a count, which variable frame rate makes meaningless) or fails mid-stream is an error naming
    where decoding stopped; with ``allow_partial`` the frames that decoded are kept and :attr:`partial` says
    how much was lost. :attr:`last_time` / :attr:`last_pts` / :attr:`last_duration` describe the frame last
    yielded, so writers keep variable frame rates. ``deep``: >8-bit videos yield uint16 RGB (else uint8).
    """

    def __init__(self, path: str | Path, fps: float = 25.0, allow_partial: bool = False, deep: bool = False):
        self.path = Path(path)
        self.allow_partial = allow_partial
        self.partial: str | None = None
        self.last_time: float | None = None
        self.last_pts: int | None = None
        self.last_duration: int | None = None
        if not self.path.exists():
            raise EdgeVSRError(f"{self.path}: no such file or folder")
        if self.path.is_dir():
            self._files = list_images(self.path)
            if not self._files:
                raise EdgeVSRError(f"{self.path}: folder holds no images ({', '.join(sorted(IMAGE_EXTS))})")
            check_unique_stems(self.path, self._files)
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
        self.format = self.info.rgb_format if deep else "rgb24"

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
                cc = vs.codec_context
                w, h = cc.width, cc.height
                has_audio = bool(c.streams.audio)
                duration = _stream_seconds(c, vs)
                pix_fmt = cc.pix_fmt or "yuv420p"
                bits = max(comp.bits for comp in av.VideoFormat(pix_fmt).components)
                colour = {k: int(getattr(cc, k) or 0) for k in COLOUR_FIELDS}
                tb = (vs.time_base.numerator, vs.time_base.denominator) if vs.time_base else None
                rotation = _first_rotation(c, vs)
        except EdgeVSRError:
            raise
        except Exception as exc:
            raise EdgeVSRError(f"{self.path}: not a readable video ({first_line(exc)})") from None
        if not w or not h:
            raise EdgeVSRError(f"{self.path}: video stream has no frame size")
        check_input_size(w, h, str(self.path))
        exact = count is not None
        if count is None and duration:
            count = max(1, round(duration * fps))
        return SourceInfo(self.path, "video", w, h, fps, count, has_audio, duration=duration, count_exact=exact,
                          bits=bits, rotation=rotation, colour={k: v for k, v in colour.items() if v}, time_base=tb,
                          pix_fmt=pix_fmt)

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
        if self.info.kind == "video" and self.partial is None:
            short = self._short(n)
            if short:
                self._damaged(n, short)

    def _short(self, n: int) -> str | None:
        """Why ``n`` decoded frames fall short of what the container declares (None: they do not)."""
        info = self.info
        if info.count_exact:
            declared = info.frame_count
            if declared and n < declared - max(SHORT_FRAMES, SHORT_SHARE * declared):
                return f"the container declares {declared} frames"
            return None
        if info.duration and self.last_time is not None:  # MKV/WebM: compare times, never an estimated count
            period = 1.0 / info.fps if info.fps else 0.04
            tb = info.time_base
            last = self.last_duration * tb[0] / tb[1] if self.last_duration and tb else period
            end = self.last_time + last
            if end < info.duration - max(SHORT_FRAMES * period, SHORT_SHARE * info.duration):
                return f"the container declares {info.duration:.2f} s"
        return None

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
        yield from self.decode()

    def decode(self, first: int = 0, seek_pts: int | None = None) -> Iterator[np.ndarray]:
        """Decoded video frames from the start, or from the keyframe before ``seek_pts`` (batch chunks)."""
        import av

        n = 0
        try:
            with av.open(str(self.path)) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                if seek_pts is not None and first > 0:
                    c.seek(seek_pts, stream=stream, backward=True, any_frame=False)
                for frame in c.decode(stream):
                    img = frame.to_ndarray(format=self.format)
                    self.last_time = frame.time if frame.time is not None else n / self.info.fps
                    self.last_pts, self.last_duration = frame.pts, frame.duration
                    n += 1
                    yield img
        except av.FFmpegError as exc:
            if n == 0:
                raise EdgeVSRError(f"{self.path}: video is damaged or truncated ({first_line(exc)})") from None
            self._damaged(n, f"the decoder failed: {first_line(exc)}")


def _stream_seconds(container, stream) -> float | None:
    """How long the video stream declares it lasts: its own duration, the DURATION tag Matroska muxers write
    per track, or (video-only files) the container's; None when only a longer audio track would say."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    if container.duration and len(container.streams) == 1:
        return container.duration / 1e6
    return None


def _first_rotation(container, stream) -> int:
    """The display rotation of the first frame (where FFmpeg puts the container's display matrix)."""
    try:
        for frame in container.decode(stream):
            return int(round(frame.rotation or 0))
    except Exception:  # an undecodable first frame: reported by the decode pass, with its position
        return 0
    return 0


def check_unique_stems(folder: Path, files: list[Path]) -> None:
    """``im1.png`` and ``im1.jpg`` would both be written as ``im1.png``: one frame would silently be lost."""
    seen: dict[str, str] = {}
    for p in files:
        stem = p.stem.lower()
        if stem in seen:
            raise EdgeVSRError(f"{folder}: {seen[stem]} and {p.name} share the name {p.stem!r}; their outputs "
                               "would overwrite each other (rename or remove one)")
        seen[stem] = p.name
