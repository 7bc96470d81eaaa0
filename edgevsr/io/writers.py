"""Writing frames: a video (encoder chosen by container, audio copied, timestamps kept), one image file, or a
PNG folder, always through :mod:`edgevsr.io.atomic` (unique temp beside the output, checked writes, rename
when complete)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.io.atomic import check_output, commit, discard, make_temp, write_bytes, write_error
from edgevsr.io.frames import IMAGE_EXTS, VIDEO_EXTS, SourceInfo
from edgevsr.pixels import as_uint8

# container -> encoders it may hold (first = default)
CONTAINERS = {".mp4": ("libx264", "libx265"), ".m4v": ("libx264", "libx265"), ".mov": ("libx264", "libx265"),
              ".mkv": ("libx264", "libx265", "libvpx-vp9"), ".webm": ("libvpx-vp9",), ".y4m": ("rawvideo",)}
CODEC_NAMES = {"h264": "libx264", "avc": "libx264", "libx264": "libx264", "h265": "libx265", "hevc": "libx265",
               "libx265": "libx265", "vp9": "libvpx-vp9", "libvpx-vp9": "libvpx-vp9", "rawvideo": "rawvideo"}
CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63)}
UNWRITABLE = (VIDEO_EXTS | {".gif", ".apng", ".flv", ".wmv", ".3gp", ".ogv", ".ogg"}) - set(CONTAINERS)
TIME_BASE = Fraction(1, 90000)  # fine enough for any frame rate, variable ones included
FORMATS = ".mp4/.mkv/.mov (H.264, H.265 with --codec h265), .webm (VP9), .y4m, one image file, or a folder"


def output_kind(path: Path) -> str:
    """'video', 'image' (one frame to one file) or 'folder' (PNG frames), from the name; others refused.

    A folder is a name without an extension (or an existing folder): ``out.mp5`` is a typo, not a folder.
    """
    if str(path) == "-":
        raise EdgeVSRError("-o -: edgevsr does not write to stdout; give a file (.mp4, .y4m ...) or a folder name")
    suffix = path.suffix.lower()
    if suffix in CONTAINERS:
        return "video"
    if suffix in IMAGE_EXTS:
        return "image"
    if suffix in UNWRITABLE:
        raise EdgeVSRError(f"{path}: edgevsr does not write {suffix} files; write {FORMATS}")
    if suffix and not path.is_dir():
        raise EdgeVSRError(f"{path}: unknown extension {suffix}; write {FORMATS} (a new folder's name has no "
                           "extension)")
    return "folder"


def choose_encoder(path: Path, codec: str | None = None, crf: int = 18) -> str:
    """The encoder for ``path``'s container (``codec`` picks among those it can hold); bad choices refused."""
    allowed = CONTAINERS[path.suffix.lower()]
    name = CODEC_NAMES.get(codec.lower(), codec) if codec else allowed[0]
    if name not in allowed:
        what = "cannot hold" if name in CODEC_NAMES.values() else "unknown video encoder"
        choices = "/".join(k for k, v in CODEC_NAMES.items() if v in allowed)
        raise EdgeVSRError(f"{path}: {what} {codec!r} for {path.suffix} (choose --codec {choices})")
    lo, hi = CRF_RANGE.get(name, (None, None))
    if lo is not None and not lo <= crf <= hi:
        raise EdgeVSRError(f"--crf {crf}: {name} quality must be in {lo}..{hi} (lower is better)")
    import av

    try:
        av.codec.Codec(name, "w")
    except Exception:
        raise EdgeVSRError(f"{path}: this PyAV/FFmpeg build has no {name} encoder") from None
    return name


def check_sink(path: str | Path, *, codec: str | None = None, crf: int = 18, frames: int | None = None,
               inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
               names: list[str] | None = None) -> str:
    """Everything about a frame output that can fail, checked before any model loads; returns its kind."""
    path = Path(path)
    kind = output_kind(path)
    if kind == "folder" and names:
        stems = [Path(n).stem.lower() for n in names]
        if len(set(stems)) != len(stems):
            dup = next(n for n in names if stems.count(Path(n).stem.lower()) > 1)
            raise EdgeVSRError(f"{path}: two input frames would be written as {Path(dup).stem}.png; rename one")
    if kind == "video":
        choose_encoder(path, codec, crf)
    if kind == "image" and frames is not None and frames > 1:
        raise EdgeVSRError(f"{path}: one image file, but the input has {frames} frames; give a folder or a video")
    check_output(path, inputs=inputs, is_dir=kind == "folder", overwrite=overwrite)
    return kind


def add_video_stream(container, codec: str, fps: float, first: np.ndarray, crf: int, time_base: Fraction | None,
                     colour: dict[str, int] | None = None, rotation: int = 0):
    """The one encoder set-up (FrameSink's files and batch segments): size from the first frame (even), 10-bit
    for uint16 frames, colour tags, display rotation, quality by encoder."""
    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
    h, w = first.shape[:2]
    stream.width, stream.height = w - w % 2, h - h % 2
    stream.pix_fmt = "yuv420p10le" if first.dtype == np.uint16 else "yuv420p"  # 10-bit in, 10-bit out
    for k, v in (colour or {}).items():
        if v:
            setattr(stream.codec_context, k, v)
    if rotation:
        stream.set_display_rotation(rotation)
    if time_base is not None:
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
    if codec in ("libx264", "libx265"):
        stream.options = {"crf": str(crf), "preset": "medium"}
        if codec == "libx265":
            stream.options |= {"x265-params": "log-level=error"}
    elif codec == "libvpx-vp9":
        stream.options = {"crf": str(crf), "b": "0", "deadline": "good", "cpu-used": "4"}
    return stream


class FrameSink:
    """Collects RGB frames into ``path`` (video by container, one image by image suffix, else PNGs).

    The one file writer of edgevsr: `upscale`, `degrade`, `eval --save-outputs`, the demo and `edgevsr run`'s
    ``file://`` sink all write through it (it is also a live pipeline sink: ``check``/``open``/``write``/
    ``poll``/``close``/``abort``). Everything is written under a unique temporary name beside ``path``, made
    at the first frame, and renamed onto it by :meth:`close`; :meth:`abort` (or an exception inside ``with``)
    removes that temp and nothing else.
    ``write(frame, time)`` takes the frame's presentation time in seconds (variable frame rate and audio
    sync are kept); without it frames are spaced at ``fps``. ``like``: the source's
    :class:`~edgevsr.io.frames.SourceInfo`, whose rotation and colour tags the video keeps. uint16 frames
    (deep sources) are written 10-bit (video) or 16-bit (PNG/TIFF).
    """

    resizable = False  # a file cannot change its frame size mid-stream
    is_display = False

    def __init__(self, path: str | Path, fps: float | None = 25.0, codec: str | None = None, crf: int = 18,
                 audio_from: Path | None = None, names: list[str] | None = None, overwrite: bool = False,
                 inputs: Iterable[str | Path | None] = (), like: SourceInfo | None = None):
        self.path = Path(path)
        self.kind = check_sink(self.path, codec=codec, crf=crf, inputs=inputs, overwrite=overwrite, names=names)
        self.rotation = like.rotation if like is not None else 0
        self.colour = dict(like.colour) if like is not None else {}
        self.is_video = self.kind == "video"
        self.codec = choose_encoder(self.path, codec, crf) if self.is_video else None
        self.fps, self.crf, self.overwrite = fps, crf, overwrite
        self.inputs, self.name = tuple(inputs), str(path)
        self.audio_from, self.names = audio_from, names
        self.count = 0
        self._container = self._stream = self._audio = None
        self._last_pts: int | None = None
        self.tmp: Path | None = None  # made at the first frame: a run that fails before it leaves nothing

    # the live pipeline's sink protocol (edgevsr.edge.sinks.Sink) ------------------------------------
    def check(self) -> None:
        """Everything that can fail before the model loads (checked again: the path may have changed)."""
        check_sink(self.path, codec=self.codec, crf=self.crf, inputs=self.inputs, overwrite=self.overwrite,
                   names=self.names)

    def open(self, width: int, height: int, fps: float) -> None:
        """The first frame's size is known: frames are spaced at the source's rate unless one was given."""
        if self.fps is None:
            self.fps = fps

    def poll(self) -> list[str]:
        return []

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        try:
            if self.tmp is None:
                self.tmp = make_temp(self.path, is_dir=self.kind == "folder")
            if self.is_video:
                self._write_video(frame, time)
            elif self.kind == "image":
                if self.count:
                    raise EdgeVSRError(f"{self.path}: one image file, but the input has more than one frame; "
                                       "give a folder or a video")
                self._write_image(self.tmp, self.path.suffix, frame)
            else:
                name = self.names[self.count] if self.names and self.count < len(self.names) \
                    else f"{self.count:06d}.png"
                self._write_image(self.tmp / (Path(name).stem + ".png"), ".png", frame)
        except BaseException:
            self.abort()
            raise
        self.count += 1

    @property
    def bits(self) -> int:
        """The deepest samples this output keeps: 10 (video, ``yuv420p10le``), 16 (PNG/TIFF), else 8 (JPEG...):
        deeper frames are rounded to it (the live pipeline rounds for 8-bit sinks before writing)."""
        if self.is_video:
            return 10
        if self.kind == "folder" or self.path.suffix.lower() in (".png", ".tif", ".tiff"):
            return 16
        return 8

    def _write_image(self, target: Path, ext: str, frame: np.ndarray) -> None:
        if frame.dtype == np.uint16 and ext.lower() not in (".png", ".tif", ".tiff"):
            frame = as_uint8(frame)  # formats without 16-bit samples: rounded, not truncated
        ok, data = cv2.imencode(ext, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if not ok:
            raise EdgeVSRError(f"{self.path}: could not encode frame {self.count} as {ext}")
        write_bytes(target, data.tobytes(), name=self.path)

    def _open_video(self, frame: np.ndarray) -> None:
        import av

        try:
            self._container = av.open(str(self.tmp), mode="w", format="yuv4mpegpipe" if self.codec == "rawvideo"
                                      else None)
            self._stream = add_video_stream(self._container, self.codec, self.fps or 25.0, frame, self.crf,
                                            None if self.codec == "rawvideo" else TIME_BASE, self.colour,
                                            self.rotation)
        except (OSError, av.FFmpegError) as exc:
            raise EdgeVSRError(f"{self.path}: cannot create video ({first_line(exc)})") from None
        self._audio = self._add_audio()

    def _pts(self, time: float | None) -> int | None:
        if self.codec == "rawvideo":
            return self.count
        pts = round((time if time is not None else self.count / (self.fps or 25.0)) / TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:  # timestamps must rise
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def _write_video(self, frame: np.ndarray, time: float | None) -> None:
        import av

        if self._container is None:
            self._open_video(frame)
        h, w = self._stream.height, self._stream.width
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]),
                                        format="rgb48le" if frame.dtype == np.uint16 else "rgb24")
        vf.pts = self._pts(time)
        if self.codec != "rawvideo":
            vf.time_base = TIME_BASE
        try:
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
        except (OSError, av.FFmpegError) as exc:
            raise write_error(self.path, exc) from None

    def _add_audio(self):
        if self.audio_from is None or self.codec == "rawvideo":
            return None
        import av

        try:
            src = av.open(str(self.audio_from))
        except (OSError, av.FFmpegError):
            return None
        if not src.streams.audio:
            src.close()
            return None
        try:
            out = self._container.add_stream_from_template(src.streams.audio[0])
        except Exception:  # codec the output container cannot hold: drop audio rather than fail
            src.close()
            return None
        return src, out

    def _finish_video(self) -> None:
        import av

        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            if self._audio is not None:
                src, out = self._audio
                for packet in src.demux(src.streams.audio[0]):
                    if packet.dts is None:
                        continue
                    packet.stream = out
                    self._container.mux(packet)
                src.close()
                self._audio = None
            self._container.close()
            self._container = None
        except (OSError, av.FFmpegError) as exc:
            raise write_error(self.path, exc) from None

    def close(self) -> None:
        """Finalise and move into place; any failure (signals included) removes the temp."""
        try:
            if self.count == 0:
                raise EdgeVSRError(f"{self.path}: no frames were produced; nothing written")
            if self.is_video:
                self._finish_video()
            commit(self.tmp, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Discard everything this sink wrote (only its own temp)."""
        if self._audio is not None:
            with contextlib.suppress(Exception):
                self._audio[0].close()
            self._audio = None
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        if self.tmp is not None:
            discard(self.tmp)
            self.tmp = None

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
