"""A table of hostile-but-ordinary inputs and flags run through every command (issue 14).

Each case must end with exit code 2, one line on stderr starting ``edgevsr: error:`` (the last; progress
lines before it are fine), no "Traceback", no raw
colour codes, no PyTorch 'weights_only=False' advice, the inputs untouched and no file left behind.
The commands run in-process through the real entry point (``edgevsr.cli.main.main``), so a case costs
milliseconds, not an interpreter start.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import moving_clip, write_video


def _png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG whose header declares w x h (the pixels are never reached: the size check reads the header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def truncated_video(path: Path, frames: int = 120, keep: float = 0.3, faststart: bool = True) -> Path:
    """A real H.264 clip whose file is cut to ``keep`` of its bytes (an interrupted download)."""
    import av

    full = path.with_name("full-" + path.name)
    clip = moving_clip(frames, 32, 48)
    with av.open(str(full), "w", options={"movflags": "faststart"} if faststart and path.suffix == ".mp4" else {}) \
            as c:
        vs = c.add_stream("libx264", rate=25)
        vs.height, vs.width, vs.pix_fmt = 32, 48, "yuv420p"
        for f in clip:
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    full.unlink()
    return path


def foreign_onnx(path: Path) -> Path:
    """A plain Conv ONNX (not x4) carrying metadata copied from an edgevsr export: metadata must not be trusted."""
    import onnx
    from onnx import TensorProto, helper

    from edgevsr.models.spec import ModelSpec
    from edgevsr.weights import load_model

    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 3, 1, 1], np.eye(3, dtype=np.float32).ravel().tolist())
    node = helper.make_node("Conv", ["lr", "w"], ["hr"])
    graph = helper.make_graph([node], "foreign", [helper.make_tensor_value_info("lr", TensorProto.FLOAT,
                                                                             [1, 3, None, None])],
                              [helper.make_tensor_value_info("hr", TensorProto.FLOAT, [1, 3, None, None])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    net, _ = load_model("bicubic", None)
    for k, v in {"edgevsr.spec": json.dumps(ModelSpec.of(net, "bicubic").to_dict()), "edgevsr.precision": "fp32",
                 "edgevsr.model": "bicubic", "edgevsr.scale": "4"}.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    clip = moving_clip(6, 32, 48)
    write_video(d / "clip.mp4", clip, fps=24, audio=True)
    (d / "frames").mkdir()
    for i, f in enumerate(clip):
        cv2.imwrite(str(d / "frames" / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    os.link(d / "clip.mp4", d / "hard.mp4")
    (d / "link.mp4").symlink_to(d / "clip.mp4")
    (d / "framelink").symlink_to(d / "frames")
    (d / "full").mkdir()
    (d / "full" / "important.txt").write_text("x")
    (d / "dir.mp4").mkdir()
    (d / "dir.mp4" / "keep.txt").write_text("x")
    (d / "afile").write_text("not a folder")
    _png_header_only(d / "huge.png", 20000, 20000)
    truncated_video(d / "cut.mp4", keep=0.3)
    truncated_video(d / "cut.mkv", keep=0.2)
    (d / "tiny").mkdir()
    for i in range(3):
        cv2.imwrite(str(d / "tiny" / f"{i}.png"), np.full((4, 4, 3), 100 + i, np.uint8))
    (d / "weightsdir").mkdir()
    (d / "notimages").mkdir()
    for i in range(3):
        (d / "notimages" / f"{i}.txt").write_text("text")
    foreign_onnx(d / "foreign.onnx")
    (d / "bad.yaml").write_text("model: [unclosed\n")
    import argparse

    import torch

    torch.save({"args": argparse.Namespace(lr=1), "w": torch.zeros(1)}, d / "pickled.pth")
    return d


BICUBIC = ["--model", "bicubic"]
CASES = {
    # defect 1: an existing folder or a folder-vs-file mismatch is never replaced without --overwrite
    "upscale into a non-empty folder": ["upscale", "{d}/clip.mp4", "-o", "{d}/full", *BICUBIC],
    "upscale into the parent folder": ["upscale", "{d}/frames/000.png", "-o", "{d}/frames/..", *BICUBIC],
    "folder named dir.mp4": ["upscale", "{d}/clip.mp4", "-o", "{d}/dir.mp4", *BICUBIC],
    "existing file where a folder is written": ["upscale", "{d}/frames", "-o", "{d}/afile", *BICUBIC],
    # defect 2: output equal to / inside / holding the input
    "output is the input": ["upscale", "{d}/clip.mp4", "-o", "{d}/clip.mp4", *BICUBIC],
    "output is a symlink to the input": ["upscale", "{d}/clip.mp4", "-o", "{d}/link.mp4", *BICUBIC],
    "output is a hard link to the input": ["upscale", "{d}/clip.mp4", "-o", "{d}/hard.mp4", *BICUBIC],
    "folder onto itself": ["upscale", "{d}/frames", "-o", "{d}/frames", *BICUBIC],
    "folder onto itself via a link": ["upscale", "{d}/framelink", "-o", "{d}/frames", *BICUBIC],
    "output inside the input folder": ["upscale", "{d}/frames", "-o", "{d}/frames/x4", *BICUBIC],
    "run sink is the source": ["run", "--source", "{d}/clip.mp4", "--sink", "{d}/clip.mp4", *BICUBIC],
    "degrade onto itself": ["degrade", "{d}/frames", "-o", "{d}/frames"],
    "eval json inside the gt folder": ["eval", "{d}/frames", "--gt", "{d}/frames", "--json", "{d}/frames/s.json",
                                       "--no-lpips"],
    "quantize onto its input": ["quantize", "{d}/foreign.onnx", "-o", "{d}/foreign.onnx"],
    "dataset holding its input": ["dataset", "build", "{d}/clip.mp4", "-o", "{d}"],
    "ship-weights into the run": ["ship-weights", "{d}/full", "--name", "x", "--output", "{d}/full"],
    "report into the eval data": ["report", "--quick", "--eval-data", "{d}/frames", "-o", "{d}/frames"],
    # defect 4: damaged video
    "truncated faststart mp4": ["upscale", "{d}/cut.mp4", "-o", "{o}/x.mp4", *BICUBIC],
    "truncated mkv": ["upscale", "{d}/cut.mkv", "-o", "{o}/x.mp4", *BICUBIC],
    # defect 7: tracebacks
    "20000x20000 png": ["upscale", "{d}/huge.png", "-o", "{o}/x.png", *BICUBIC],
    "gif output": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.gif", *BICUBIC],
    "avi output": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.avi", *BICUBIC],
    "vp9 in mp4": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--codec", "vp9", *BICUBIC],
    "one png for many frames": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.png", *BICUBIC],
    "device tpu": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--device", "tpu", *BICUBIC],
    "crf -5": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--crf", "-5", *BICUBIC],
    "eval on 4x4 frames": ["eval", "{d}/tiny", "--gt", "{d}/tiny", "--no-lpips"],
    "quantize calib-shape 0x0": ["quantize", "bicubic", "-o", "{o}/q.onnx", "--int8", "--calib", "{d}/frames",
                                 "--calib-shape", "0x0"],
    "profile size 0x0": ["profile", "--size", "0x0", *BICUBIC],
    "profile threads -1": ["profile", "--threads", "-1", *BICUBIC],
    "profile size 40000x40000": ["profile", "--size", "40000x40000", *BICUBIC],
    "run 40000x40000": ["run", "--source", "test://?frames=2", "--sink", "null://", "--width", "40000",
                        "--height", "40000", *BICUBIC],
    # the additions
    "weights pickle with objects": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--weights", "{d}/pickled.pth"],
    "weights path is a folder": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--weights", "{d}/weightsdir"],
    "negative --frames": ["run", "--source", "test://", "--sink", "null://", "--frames", "-3", *BICUBIC],
    "calibration folder of non-images": ["quantize", "bicubic", "-o", "{o}/q.onnx", "--int8", "--calib",
                                         "{d}/notimages"],
    "onnx graph contradicts metadata": ["upscale", "{d}/clip.mp4", "-o", "{o}/x.mp4", "--backend", "onnxruntime",
                                        "--onnx", "{d}/foreign.onnx", *BICUBIC],
    # more of the same family
    "missing input": ["upscale", "{d}/nothere.mp4", "-o", "{o}/x.mp4", *BICUBIC],
    "output folder missing": ["upscale", "{d}/clip.mp4", "-o", "{o}/no/such/x.mp4", *BICUBIC],
    "train config unreadable": ["train", "--config", "{d}/bad.yaml"],
    "failed quantize (nothing to quantize)": ["quantize", "bicubic", "-o", "{o}/q.onnx", "--int8", "--calib",
                                              "{d}/frames", "--speed-shape", ""],
    "compare negative frames": ["compare", "{d}/clip.mp4", "--frames", "-1", "--ref", "torch", "--test", "torch",
                                *BICUBIC],
}

# what the one line must say, for the cases where a vaguer message would hide a wrong reason
EXPECT = {
    "output is a hard link to the input": "is the input", "folder onto itself via a link": "is the input",
    "upscale into the parent folder": "holds the input", "output inside the input folder": "inside the input",
    "upscale into a non-empty folder": "not empty", "folder named dir.mp4": "existing folder",
    "truncated mkv": "decoding stopped after frame", "20000x20000 png": "larger than the maximum",
    "run 40000x40000": "larger than the maximum", "onnx graph contradicts metadata": "does not match its metadata",
    "gif output": "does not write .gif", "calibration folder of non-images": "holds no images",
    "device tpu": "--device", "crf -5": "--crf", "weights pickle with objects": "pickled Python objects",
}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns) if not p.is_dir() else (0, 0)
    return out


def run_main(args: list[str], capsys) -> tuple[int, str]:
    from edgevsr.cli.main import main

    old = sys.argv
    sys.argv = ["edgevsr", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(name, data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EDGEVSR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("{d}", str(data)).replace("{o}", str(out)) for a in CASES[name]]
    before = snapshot(data)
    code, err = run_main(args, capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err, err
    assert code == 2, f"exit {code}: {err}"
    assert lines and lines[-1].startswith("edgevsr: error: "), err
    assert sum("error" in x.lower() for x in lines) == 1, f"the error is not one line: {err}"
    assert not any("Warning:" in x for x in lines), f"a multi-line Python warning: {err}"
    assert "\x1b[" not in err and "weights_only" not in err, err
    assert EXPECT.get(name, "") in lines[-1]
    assert snapshot(data) == before, "an input was changed or a file was left beside the inputs"
    left = [p for p in tmp_path.rglob("*") if p != out and p.name != "cache" and "cache" not in p.parts]
    assert not left, f"left behind: {left}"
