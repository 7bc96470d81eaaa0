"""Encoded segments in, one output file out, without re-encoding the video.

Segments are encoded with the media layer's encoder set-up (:func:`edgevsr.io.writers.add_video_stream`, as
`upscale` writes) and the output is committed through :mod:`edgevsr.io.atomic` by the job.

Each chunk is encoded on its worker into a NUT segment (NUT keeps the source's exact time
base) with the source's own timestamps and colour tags. Stitching copies the segments'
packets in order, then the source's audio and subtitle packets, into the final container:
timestamps and A/V sync are the source's.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgevsr.batch.chunks import VideoPlan
from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.io.writers import add_video_stream


def encode_segment(frames: Iterable[tuple[int, np.ndarray]], plan: VideoPlan, crf: int) -> tuple[bytes, list]:
    """H.264 of (index, RGB uint8) frames stamped with their source pts: the NUT file's bytes and the
    encoder's (pts, dts) per packet in the source time base (NUT does not store dts; stitching restores it)."""
    import av

    buf = io.BytesIO()
    tb = Fraction(*plan.time_base)
    stamps: list[tuple[int, int]] = []
    with av.open(buf, "w", format="nut") as c:
        stream = None
        for index, frame in frames:
            if stream is None:  # the media layer's encoder set-up; rotation is set on the stitched output
                stream = add_video_stream(c, "libx264", plan.fps, frame, crf, tb, plan.colour)
                deep = frame.dtype == np.uint16
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:stream.height, :stream.width]),
                                            format="rgb48le" if deep else "rgb24")
            vf.pts, vf.time_base = plan.pts[index], tb
            for packet in stream.encode(vf):
                stamps.append((int(packet.pts), int(packet.dts)))
                c.mux(packet)
        if stream is None:
            raise EdgeVSRError("segment has no frames")
        for packet in stream.encode():
            stamps.append((int(packet.pts), int(packet.dts)))
            c.mux(packet)
    return buf.getvalue(), stamps


def _copyable(out, src_stream) -> bool:
    """Whether the output container can take this audio/subtitle stream as it is."""
    name = src_stream.codec_context.name
    fmt = out.format.name
    if "mp4" in fmt or "mov" in fmt:
        return src_stream.type == "audio" or name == "mov_text"
    return True


def frame_durations(plan: VideoPlan) -> dict[int, int]:
    """pts -> the frame's duration in the source time base: up to the next frame, the last one as decoded.

    Without them the muxer guesses the last frame's length, and the container then declares the wrong
    duration and average frame rate (and audio outlasts video)."""
    tb = Fraction(*plan.time_base)
    last = plan.last_duration or max(1, round(1 / (plan.fps * tb)))
    return {a: b - a for a, b in zip(plan.pts, plan.pts[1:])} | {plan.pts[-1]: last}


def continuous_dts(pts: list[int]) -> list[int]:
    """Decode timestamps for packets (given in decode order by their pts) as one encoder would have made them.

    Each segment's encoder starts its dts a B-frame delay before its first pts, so concatenated as recorded
    they step backwards at every seam (the muxer refuses that). The k-th packet decoded gets the k-th
    smallest pts, shifted by the largest reorder delay: increasing, and never after its own pts.
    """
    order = sorted(pts)
    shift = max((o - p for o, p in zip(order, pts)), default=0)
    return [o - max(0, shift) for o in order]


def stitch(segments: list[tuple[Path, list]], source: Path, time_base: tuple[int, int], tmp: Path,
           plan: VideoPlan | None = None) -> dict:
    """Write ``tmp``: the segments' video packets in order (with their recorded (pts, dts) in
    ``time_base``, and with ``plan`` each frame's duration and the display rotation) plus the source's
    audio/subtitles, copied."""
    import av

    durations = frame_durations(plan) if plan is not None else {}

    copied, dropped = [], []
    try:
        out = av.open(str(tmp), "w")
    except Exception as exc:
        raise EdgeVSRError(f"{tmp}: cannot create output ({first_line(exc)})") from None
    try:
        tb = Fraction(*time_base)
        with av.open(str(segments[0][0])) as first:
            template = first.streams.video[0]
            extradata = template.codec_context.extradata
            vout = out.add_stream_from_template(template)
        if plan is not None and plan.rotation:
            vout.set_display_rotation(plan.rotation)
        src = av.open(str(source))
        mapping = {}
        for st in src.streams:
            if st.type not in ("audio", "subtitle"):
                continue
            if not _copyable(out, st):
                dropped.append(f"{st.type} #{st.index} ({st.codec_context.name})")
                continue
            try:
                mapping[st.index] = out.add_stream_from_template(st)
                copied.append(f"{st.type} #{st.index} ({st.codec_context.name})")
            except Exception:
                dropped.append(f"{st.type} #{st.index} ({st.codec_context.name})")
        frames = 0
        dts_of = iter(continuous_dts([pts for _, stamps in segments for pts, _ in stamps]))
        for seg, stamps in segments:
            with av.open(str(seg)) as s:
                if s.streams.video[0].codec_context.extradata != extradata:
                    raise EdgeVSRError(f"{seg}: encoder headers differ from the first segment's; cannot stitch")
                packets = [p for p in s.demux(s.streams.video[0]) if p.size]
                if len(packets) != len(stamps):
                    raise EdgeVSRError(f"{seg}: holds {len(packets)} packets, the journal says {len(stamps)}")
                for packet, (pts, _) in zip(packets, stamps):
                    packet.pts, packet.dts, packet.time_base = pts, next(dts_of), tb
                    if pts in durations:
                        packet.duration = durations[pts]
                    packet.stream = vout
                    out.mux(packet)
                    frames += 1
        if mapping:
            for packet in src.demux(*[src.streams[i] for i in mapping]):
                if packet.dts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
        src.close()
        out.close()
    except av.FFmpegError as exc:
        raise EdgeVSRError(f"{tmp}: cannot write the stitched output ({first_line(exc)})") from None
    finally:
        with contextlib.suppress(Exception):
            out.close()
    return {"packets": frames, "copied_streams": copied, "dropped_streams": dropped}
