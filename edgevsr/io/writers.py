"""Writing frames: H.264 video (audio copied from the source) or a PNG folder, atomically."""

from __future__ import annotations

import contextlib
import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import check_writable
from edgevsr.io.frames import IMAGE_EXTS


class FrameSink:
    """Collects RGB uint8 frames into ``path`` (video by suffix, else a folder of PNGs).

    Everything is written under a hidden temporary name and renamed onto ``path``
    by :meth:`close`; :meth:`abort` (or an exception inside ``with``) removes it,
    so a failed run never leaves a half-written output under the final name.
    """

    def __init__(self, path: str | Path, fps: float = 25.0, codec: str = "libx264", crf: int = 18,
                 audio_from: Path | None = None, names: list[str] | None = None):
        self.path = Path(path)
        check_writable(self.path)
        self.fps, self.codec, self.crf = fps, codec, crf
        self.audio_from = audio_from
        self.names = names
        self.is_video = self.path.suffix.lower() not in IMAGE_EXTS and self.path.suffix != ""
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.count = 0
        self._container = self._stream = None
        if not self.is_video:
            self.tmp.mkdir(exist_ok=True)

    def write(self, frame: np.ndarray) -> None:
        if self.is_video:
            self._write_video(frame)
        else:
            name = self.names[self.count] if self.names and self.count < len(self.names) else f"{self.count:06d}.png"
            cv2.imwrite(str(self.tmp / (Path(name).stem + ".png")), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.count += 1

    def _write_video(self, frame: np.ndarray) -> None:
        import av

        if self._container is None:
            try:
                self._container = av.open(str(self.tmp), mode="w")
            except Exception as exc:
                raise EdgeVSRError(f"{self.path}: cannot create video ({str(exc)[:160]})") from None
            rate = Fraction(self.fps).limit_denominator(1001)
            self._stream = self._container.add_stream(self.codec, rate=rate)
            h, w = frame.shape[:2]
            self._stream.width, self._stream.height = w - w % 2, h - h % 2
            self._stream.pix_fmt = "yuv420p"
            if self.codec == "libx264":
                self._stream.options = {"crf": str(self.crf), "preset": "medium"}
            self._audio = self._add_audio()
        h, w = self._stream.height, self._stream.width
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    def _add_audio(self):
        if self.audio_from is None:
            return None
        import av

        src = av.open(str(self.audio_from))
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
        self._container.close()

    def close(self) -> None:
        """Finalise and move into place."""
        if self.count == 0:
            self.abort()
            raise EdgeVSRError(f"{self.path}: no frames were produced; nothing written")
        if self.is_video:
            self._finish_video()
        if self.path.is_dir():
            shutil.rmtree(self.path)
        self.tmp.replace(self.path)

    def abort(self) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
