"""URI parsing and GStreamer pipeline strings: pure functions, checked on any machine."""

from __future__ import annotations

import pytest

from edgevsr.edge import gst
from edgevsr.edge.uri import parse_uri
from edgevsr.errors import EdgeVSRError


@pytest.mark.parametrize("text, scheme, location", [
    ("v4l2:///dev/video0", "v4l2", "/dev/video0"),
    ("/dev/video2", "v4l2", "/dev/video2"),
    ("csi://1", "csi", "1"),
    ("rtsp://192.168.1.5:8554/live", "rtsp", "rtsp://192.168.1.5:8554/live"),
    ("file://clips/a.mp4", "file", "clips/a.mp4"),
    ("file:///abs/a.mp4", "file", "/abs/a.mp4"),
    ("clips/a.mp4", "file", "clips/a.mp4"),
    ("frames/", "file", "frames/"),
    ("test://", "test", ""),
    ("v4l2://video1", "v4l2", "/dev/video1"),
])
def test_sources_parse(text, scheme, location):
    uri = parse_uri(text, "source")
    assert (uri.scheme, uri.location) == (scheme, location)


def test_options_are_typed_and_flags_override():
    uri = parse_uri("csi://0?width=1920&height=1080&fps=29.97&flip=rotate-180", "source")
    assert uri.options == {"width": 1920, "height": 1080, "fps": 29.97, "flip": "rotate-180"}
    assert uri.with_options(width=1280, height=None).options["width"] == 1280
    assert uri.with_options(height=None).options["height"] == 1080  # a flag not given keeps the URI's value
    assert parse_uri("test://?realtime=0", "source").options["realtime"] is False
    assert parse_uri("display://0?headless", "sink").options["headless"] is True


@pytest.mark.parametrize("text, role, message", [
    ("foo://x", "source", "unknown source scheme 'foo://'"),
    ("display://0", "source", "unknown source scheme 'display://'"),
    ("csi://0", "sink", "unknown sink scheme 'csi://'"),
    ("test://?colour=red", "source", "unknown option 'colour'"),
    ("test://?width=abc", "source", "width='abc' is not a int"),
    ("test://?width=-4", "source", "width must be positive"),
    ("csi://0?flip=sideways", "source", "flip must be one of"),
    ("rtp://host", "sink", "rtp:// needs a port"),
    ("rtsp://", "source", "needs a host"),
    ("v4l2://", "source", "needs a device path"),
    ("display://main", "sink", "takes a number"),
    ("null://?headless=maybe", "sink", "not a yes/no value"),
    ("", "source", "empty source URI"),
])
def test_bad_uris_are_one_line_errors(text, role, message):
    with pytest.raises(EdgeVSRError, match=message.replace("(", r"\(").replace("?", r"\?")) as err:
        parse_uri(text, role)
    assert "\n" not in str(err.value)


def test_flag_not_valid_for_role():
    with pytest.raises(EdgeVSRError, match="does not apply to a sink"):
        parse_uri("null://", "sink").with_options(loop=2)


def test_csi_pipeline_uses_argus_and_flip():
    p = gst.csi_capture(1, 1280, 720, 30, "rotate-180")
    assert p.startswith("nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM), width=1280, height=720, "
                        "framerate=30/1")
    assert "nvvidconv flip-method=2" in p and p.endswith("appsink drop=true max-buffers=1 sync=false")
    assert "framerate=30000/1001" in gst.csi_capture(0, 640, 480, 29.97)


def test_v4l2_pipeline_asks_mode_only_when_given():
    assert gst.v4l2_capture("/dev/video0", 640, 480, 30).startswith(
        "v4l2src device=/dev/video0 ! video/x-raw, width=640, height=480, framerate=30/1 ! videoconvert")
    default = gst.v4l2_capture("/dev/video1", None, None, None, "horizontal")
    assert "width=" not in default and "videoflip method=horizontal-flip" in default
    assert "video/x-raw ! " not in default and "framerate" not in default  # the camera's own mode and format
    mjpeg = gst.v4l2_capture("/dev/video0", 1280, 720, None, fmt="mjpeg")
    assert "! image/jpeg, width=1280, height=720 ! jpegdec ! videoconvert" in mjpeg and "framerate" not in mjpeg
    with pytest.raises(EdgeVSRError, match="auto, raw, mjpeg"):
        gst.v4l2_capture("/dev/video0", None, None, None, fmt="h264")


def test_v4l2_uri_does_not_force_30_fps():
    from edgevsr.edge.uri import parse_uri

    uri = parse_uri("v4l2:///dev/video0?format=mjpeg", "source")
    assert uri.get("format") == "mjpeg" and uri.get("fps") is None


def test_rtsp_capture_decoder_per_platform():
    jet = gst.rtsp_capture("rtsp://cam/live", 100, "h265", jetson=True)
    assert "rtspsrc location=rtsp://cam/live latency=100 ! rtph265depay ! h265parse ! nvv4l2decoder" in jet
    desk = gst.rtsp_capture("rtsp://cam/live")
    assert "avdec_h264" in desk and "nvv4l2decoder" not in desk
    with pytest.raises(EdgeVSRError, match="h264 or h265"):
        gst.rtsp_capture("rtsp://cam/live", codec="mjpeg")


def test_encoders_units_and_outputs():
    # nvv4l2h264enc takes bit/s, x264enc kbit/s
    assert "nvv4l2h264enc bitrate=4000000" in gst.encoder("h264", 4_000_000, 30, jetson=True)
    x = gst.encoder("h264", 4_000_000, 30, jetson=False)
    assert "x264enc tune=zerolatency speed-preset=ultrafast bitrate=4000 key-int-max=30" in x
    assert "x265enc" in gst.encoder("h265", 2_000_000, 25, jetson=False)
    rtp = gst.rtp_output("10.0.0.2", 5000, "h264", 2_000_000, 30, jetson=False)
    assert rtp.startswith("appsrc is-live=true ! ") and rtp.endswith("udpsink host=10.0.0.2 port=5000 sync=false "
                                                                     "async=false")
    assert "rtph264pay config-interval=1 pt=96" in rtp
    rtsp = gst.rtsp_output("rtsp://srv:8554/up", "h264", 2_000_000, 30, jetson=True)
    assert "nvv4l2h264enc" in rtsp and rtsp.endswith("rtspclientsink location=rtsp://srv:8554/up latency=0")
    assert gst.display_output(jetson=True).endswith("nvvidconv ! nveglglessink sync=false")
    assert gst.display_output(jetson=True, sink="nv3dsink").endswith(
        "nvvidconv ! video/x-raw(memory:NVMM) ! nv3dsink sync=false")
    with pytest.raises(EdgeVSRError, match="nvoverlaysink.*choose one of nveglglessink, nv3dsink"):
        gst.display_output(jetson=True, sink="nvoverlaysink")  # removed in JetPack 5
    assert gst.display_output(jetson=False).endswith("autovideosink sync=false")


def test_gst_display_takes_keys_from_the_terminal():
    import os
    import pty

    from edgevsr.edge.sinks import TerminalKeys

    leader, follower = pty.openpty()
    try:
        keys = TerminalKeys(follower)
        assert keys.active and keys.poll() == []
        os.write(leader, b"q")
        assert keys.poll() == ["q"]
        keys.close()
        assert not keys.active and keys.poll() == []
    finally:
        os.close(leader)
        os.close(follower)
    r, w = os.pipe()  # not a terminal (a service): no keys, no error
    try:
        assert TerminalKeys(r).poll() == []
    finally:
        os.close(r)
        os.close(w)


def test_gstreamer_detection_matches_cv2_build():
    import cv2

    line = next(s for s in cv2.getBuildInformation().splitlines() if s.strip().startswith("GStreamer:"))
    assert gst.opencv_has_gstreamer() == ("YES" in line)
    if not gst.opencv_has_gstreamer():
        with pytest.raises(EdgeVSRError, match="GStreamer: NO"):
            gst.require_gstreamer("csi://0")
