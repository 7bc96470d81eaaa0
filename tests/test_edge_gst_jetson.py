"""Jetson network outputs (issue 24, finding 2): BGRx before nvvidconv, and a software encoder on the Orin Nano."""

from __future__ import annotations

import re

import pytest

from edgevsr.edge import gst

# What nvvidconv takes from system memory (Jetson Linux multimedia guide); packed 3-byte BGR is not among them.
NVVIDCONV_INPUTS = {"I420", "NV12", "BGRx", "RGBA", "GRAY8", "YUY2", "UYVY"}


def _elements(pipeline: str) -> list[str]:
    return [e.strip() for e in pipeline.split("!")]


def _nvvidconv_inputs_are_negotiable(pipeline: str) -> bool:
    els = _elements(pipeline)
    for i, e in enumerate(els):
        if e.split()[0] != "nvvidconv":
            continue
        caps = els[i - 1]
        fmt = re.search(r"format=(\w+)", caps)
        if not (caps.startswith("video/x-raw") and fmt and fmt.group(1) in NVVIDCONV_INPUTS):
            return False
    return True


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_jetson_outputs_convert_bgr_to_bgrx_before_nvvidconv(codec):
    for pipe in (gst.rtp_output("10.0.0.2", 5000, codec, 4_000_000, 30, jetson=True, hw=True),
                 gst.rtsp_output("rtsp://srv:8554/up", codec, 4_000_000, 30, jetson=True, hw=True)):
        assert pipe.startswith("appsrc is-live=true ! videoconvert ! video/x-raw, format=BGRx ! nvvidconv")
        assert f"nvv4l2{codec}enc bitrate=4000000" in pipe and _nvvidconv_inputs_are_negotiable(pipe)
    # the old string (appsrc BGR straight into nvvidconv) is what the check refuses
    assert not _nvvidconv_inputs_are_negotiable("appsrc is-live=true ! nvvidconv ! video/x-raw(memory:NVMM)")
    assert _nvvidconv_inputs_are_negotiable(gst.display_output(jetson=True))


def test_orin_nano_has_no_hardware_encoder_and_says_so():
    assert not gst.has_hw_encoder("NVIDIA Jetson Orin Nano Developer Kit")
    assert gst.has_hw_encoder("NVIDIA Jetson AGX Orin Developer Kit") and gst.has_hw_encoder("Jetson Orin NX")
    assert gst.has_hw_encoder(None)
    pipe = gst.rtp_output("10.0.0.2", 5000, "h264", 2_000_000, 30, jetson=True, hw=False)
    assert "x264enc tune=zerolatency" in pipe and "bitrate=2000 " in pipe and "nvv4l2" not in pipe
    assert "nvvidconv" not in pipe and "format=I420" in pipe
    assert gst.encoder_label("h264", jetson=True, hw=False) == \
        "x264enc, software: this Jetson (Orin Nano) has no hardware encoder"
    assert gst.encoder_label("h265", jetson=True, hw=True) == "nvv4l2h265enc, Jetson hardware encoder"
    assert gst.encoder_label("h264", jetson=False) == "x264enc, software"


def test_network_sink_names_its_encoder():
    from edgevsr.edge.sinks import make_sink
    from edgevsr.edge.uri import parse_uri

    sink = make_sink(parse_uri("rtp://10.0.0.2:5000", "sink"))
    assert sink.name.endswith("(x264enc, software)") or "hardware encoder" in sink.name
