"""GStreamer pipeline strings for cameras, streams and Jetson outputs, built by small pure functions.

OpenCV opens these with ``cv2.CAP_GSTREAMER``; capture pipelines end in an
``appsink`` delivering BGR, output pipelines start at an ``appsrc`` fed BGR.
The element choices follow NVIDIA's Jetson guides (nvarguscamerasrc, nvvidconv,
nvv4l2h264enc, nveglglessink) and fall back to stock GStreamer elements
(x264enc, videoconvert, autovideosink) on a desktop. Nothing here touches a
device, so the strings are unit-tested on any machine.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2

from edgevsr.errors import EdgeVSRError

# nvvidconv flip-method numbers (Jetson Linux multimedia guide)
_NV_FLIP = {"none": 0, "rotate-180": 2, "horizontal": 4, "vertical": 6}
# stock videoflip method names
_FLIP = {"horizontal": "horizontal-flip", "vertical": "vertical-flip", "rotate-180": "rotate-180"}
_APPSINK = "appsink drop=true max-buffers=1 sync=false"


@functools.cache
def opencv_has_gstreamer() -> bool:
    """Whether this cv2 build can open GStreamer pipelines (pip wheels cannot; JetPack's OpenCV can)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line.split(":", 1)[1]
    return False


def require_gstreamer(what: str) -> None:
    if not opencv_has_gstreamer():
        raise EdgeVSRError(
            f"{what}: needs OpenCV built with GStreamer, and this cv2 {cv2.__version__} reports 'GStreamer: NO' "
            "(the pip opencv-python wheels never have it); on Jetson use JetPack's OpenCV (apt python3-opencv) "
            "in a venv made with --system-site-packages")


def is_jetson() -> bool:
    """True on NVIDIA Jetson (L4T), where the nv* GStreamer elements exist."""
    if Path("/etc/nv_tegra_release").exists():
        return True
    try:
        return "jetson" in Path("/proc/device-tree/model").read_text(errors="ignore").lower()
    except OSError:
        return False


def csi_capture(sensor_id: int, width: int, height: int, fps: float, flip: str = "none") -> str:
    """Jetson CSI camera through the Argus ISP, converted to BGR for OpenCV."""
    return (f"nvarguscamerasrc sensor-id={sensor_id} ! "
            f"video/x-raw(memory:NVMM), width={width}, height={height}, framerate={_fraction(fps)}, "
            f"format=NV12 ! nvvidconv flip-method={_NV_FLIP[flip]} ! video/x-raw, format=BGRx ! "
            f"videoconvert ! video/x-raw, format=BGR ! {_APPSINK}")


V4L2_FORMATS = ("auto", "raw", "mjpeg")


def v4l2_capture(device: str, width: int | None, height: int | None, fps: float | None,
                 flip: str = "none", fmt: str = "auto") -> str:
    """USB/UVC camera; asks for the size and rate only when given, else takes the camera's default mode.

    ``fmt``: ``raw`` (YUYV & co), ``mjpeg`` (what most UVC cameras deliver at 720p and above; decoded by
    jpegdec), or ``auto``: no media type forced unless a size or rate is asked for (then raw).
    """
    if fmt not in V4L2_FORMATS:
        raise EdgeVSRError(f"v4l2 format must be one of {', '.join(V4L2_FORMATS)}, got {fmt!r}")
    fields = []
    if width and height:
        fields += [f"width={width}", f"height={height}"]
    if fps:
        fields.append(f"framerate={_fraction(fps)}")
    if fmt == "mjpeg":
        caps = f"{', '.join(['image/jpeg', *fields])} ! jpegdec ! "
    elif fmt == "raw" or fields:
        caps = f"{', '.join(['video/x-raw', *fields])} ! "
    else:
        caps = ""
    return (f"v4l2src device={device} ! {caps}videoconvert ! {_flip(flip)}"
            f"video/x-raw, format=BGR ! {_APPSINK}")


def rtsp_capture(url: str, latency_ms: int = 200, codec: str = "h264", jetson: bool = False,
                 flip: str = "none") -> str:
    """An RTSP stream (IP camera, drone): depayload, hardware decode on Jetson, BGR out."""
    if codec not in ("h264", "h265"):
        raise EdgeVSRError(f"{url}: RTSP input codec must be h264 or h265, got {codec!r}")
    depay, parse = (("rtph264depay", "h264parse") if codec == "h264" else ("rtph265depay", "h265parse"))
    decode = (f"nvv4l2decoder ! nvvidconv flip-method={_NV_FLIP[flip]} ! video/x-raw, format=BGRx ! videoconvert"
              if jetson else f"avdec_{codec} ! videoconvert ! {_flip(flip)}videoconvert")
    return (f"rtspsrc location={url} latency={latency_ms} ! {depay} ! {parse} ! {decode} ! "
            f"video/x-raw, format=BGR ! {_APPSINK}")


def has_hw_encoder(model: str | None) -> bool:
    """Whether a Jetson module has the NVENC hardware encoder: every one but the Orin Nano, which encodes in
    software (NVIDIA's Orin Nano documentation). ``model``: the device-tree name; None (unknown) counts as yes."""
    return not (model and "orin nano" in model.lower())


def _jetson_hw_encoder() -> bool:
    from edgevsr.jetson import jetson_model

    return has_hw_encoder(jetson_model())


def encoder_label(codec: str, jetson: bool, hw: bool | None = None) -> str:
    """Which encoder a network output uses, in words (the run's header says it)."""
    if jetson and (hw if hw is not None else _jetson_hw_encoder()):
        return f"nvv4l2{codec}enc, Jetson hardware encoder"
    soft = f"x{codec[-3:]}enc, software"
    return f"{soft}: this Jetson (Orin Nano) has no hardware encoder" if jetson else soft


def encoder(codec: str, bitrate: int, fps: float, jetson: bool, hw: bool | None = None) -> str:
    """Low-latency H.264/H.265 encoder: NVENC-class hardware on Jetson, x264/x265 on a desktop and on Jetsons
    without an encoder (Orin Nano; ``hw`` None: decided from the module name).

    OpenCV's appsrc delivers packed BGR, which nvvidconv does not take: it gets BGRx from videoconvert first,
    as the display path does. ``bitrate`` is in bits per second (nvv4l2 takes bit/s, x264enc kbit/s).
    """
    if codec not in ("h264", "h265"):
        raise EdgeVSRError(f"network output codec must be h264 or h265, got {codec!r}")
    if jetson and (hw if hw is not None else _jetson_hw_encoder()):
        return (f"videoconvert ! video/x-raw, format=BGRx ! nvvidconv ! video/x-raw(memory:NVMM), format=NV12 ! "
                f"nvv4l2{codec}enc bitrate={bitrate} insert-sps-pps=true idrinterval={max(1, round(fps))} ! "
                f"{codec}parse")
    kbps = max(1, bitrate // 1000)
    return (f"videoconvert ! video/x-raw, format=I420 ! x{codec[-3:]}enc tune=zerolatency speed-preset=ultrafast "
            f"bitrate={kbps} key-int-max={max(1, round(fps))} ! {codec}parse")


def rtp_output(host: str, port: int, codec: str, bitrate: int, fps: float, jetson: bool,
               hw: bool | None = None) -> str:
    """RTP/UDP to one receiver (e.g. a ground station running a GStreamer/ffplay receiver)."""
    pay = "rtph264pay" if codec == "h264" else "rtph265pay"
    return (f"appsrc is-live=true ! {encoder(codec, bitrate, fps, jetson, hw)} ! {pay} config-interval=1 pt=96 ! "
            f"udpsink host={host} port={port} sync=false async=false")


def rtsp_output(url: str, codec: str, bitrate: int, fps: float, jetson: bool, hw: bool | None = None) -> str:
    """Publish to an RTSP server (e.g. mediamtx) with rtspclientsink; viewers then connect to that server."""
    return (f"appsrc is-live=true ! {encoder(codec, bitrate, fps, jetson, hw)} ! "
            f"rtspclientsink location={url} latency=0")


JETSON_SINKS = ("nveglglessink", "nv3dsink", "nvdrmvideosink")
DESKTOP_SINKS = ("autovideosink", "glimagesink", "xvimagesink", "ximagesink")


def display_output(jetson: bool, sink: str | None = None) -> str:
    """An on-screen video sink: EGL (default), nv3dsink (JetPack 5+, no EGL) or the DRM overlay plane on Jetson;
    autovideosink (or the one named) elsewhere. nv3dsink and nvdrmvideosink take NVMM buffers from nvvidconv."""
    allowed = JETSON_SINKS if jetson else DESKTOP_SINKS
    sink = sink or allowed[0]
    if sink not in allowed:
        raise EdgeVSRError(f"display sink {sink!r}: on {'Jetson' if jetson else 'this machine'} choose one of "
                           f"{', '.join(allowed)}")
    if not jetson:
        return f"appsrc ! videoconvert ! {sink} sync=false"
    nvmm = "video/x-raw(memory:NVMM) ! " if sink != "nveglglessink" else ""
    return f"appsrc ! videoconvert ! video/x-raw, format=BGRx ! nvvidconv ! {nvmm}{sink} sync=false"


def _flip(flip: str) -> str:
    return "" if flip == "none" else f"videoflip method={_FLIP[flip]} ! "


def _fraction(fps: float) -> str:
    """GStreamer framerate: 30 -> 30/1, the NTSC 29.97 -> 30000/1001."""
    from fractions import Fraction

    n = round(fps)
    if n and abs(fps - n * 1000 / 1001) < 0.005:
        return f"{n * 1000}/1001"
    f = Fraction(fps).limit_denominator(1001)
    return f"{f.numerator}/{f.denominator}"
