"""Issue 28, priority 1: no command replaces an existing file without --overwrite, none ever replaces a special
file, and an output name edgevsr cannot write (unknown extension, ``-`` for stdout) is refused, not turned into a
folder of PNGs.

Every case runs through the real entry point, with every file beside the inputs hashed before and after.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import moving_clip, write_video
from tests.test_bad_inputs import run_main

PRECIOUS = b"precious\n"


def digest_tree(root: Path) -> dict[str, str]:
    """Path -> sha256 of every regular file, and a type tag for anything else (links, folders, fifos)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[str(p.relative_to(root))] = stat.filemode(st.st_mode)[0]
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("safety")
    clip = moving_clip(4, 32, 48)
    write_video(d / "clip.mp4", clip, fps=24)
    (d / "frames").mkdir()
    for i, f in enumerate(clip):
        cv2.imwrite(str(d / "frames" / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    for name in ("mine.mp4", "mine.json", "mine.onnx", "mine.png", "mine.mkv"):
        (d / name).write_bytes(PRECIOUS)
    (d / "notes").mkdir()
    (d / "notes" / "todo.txt").write_bytes(PRECIOUS)
    os.mkfifo(d / "fifo.mp4")
    os.mkfifo(d / "fifo")
    if os.geteuid() == 0:  # a character device of our own (a copy of /dev/null), so /dev is never at risk
        os.mknod(d / "chardev", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(d / "chardev.mp4", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return d


BICUBIC = ["--model", "bicubic"]
CASES = {
    # an existing file is never replaced without --overwrite
    "upscale onto a file": (["upscale", "{d}/clip.mp4", "-o", "{d}/mine.mp4", *BICUBIC], "exists"),
    "upscale one image onto a file": (["upscale", "{d}/frames/000.png", "-o", "{d}/mine.png", *BICUBIC], "exists"),
    "run file sink onto a file": (["run", "-i", "{d}/clip.mp4", "-o", "file://{d}/mine.mkv", *BICUBIC], "exists"),
    "run bare sink path onto a file": (["run", "-i", "{d}/clip.mp4", "-o", "{d}/mine.mp4", *BICUBIC], "exists"),
    "eval json onto a file": (["eval", "{d}/frames", "--gt", "{d}/frames", "--json", "{d}/mine.json",
                               "--no-lpips", "--no-tof"], "exists"),
    "eval plot onto a file": (["eval", "{d}/frames", "--gt", "{d}/frames", "--plot", "{d}/mine.png",
                               "--no-lpips", "--no-tof"], "exists"),
    "quantize onto a file": (["quantize", "bicubic", "-o", "{d}/mine.onnx"], "exists"),
    "quantize json onto a file": (["quantize", "bicubic", "-o", "{o}/q.onnx", "--json", "{d}/mine.json"], "exists"),
    "batch json onto a file": (["batch", "{d}/clip.mp4", "-o", "{o}/lib", "--json", "{d}/mine.json", *BICUBIC],
                               "exists"),
    "profile json onto a file": (["profile", "--json", "{d}/mine.json", "--frames", "1", *BICUBIC], "exists"),
    "degrade onto a file": (["degrade", "{d}/frames/000.png", "{d}/mine.png"], "exists"),
    "demo into a folder of notes": (["demo", "-o", "{d}/notes", "--frames", "2", *BICUBIC[:0]], "not empty"),
    # a folder the tool did not make is not replaced, even with --overwrite
    "overwrite a folder of notes": (["upscale", "{d}/clip.mp4", "-o", "{d}/notes", "--overwrite", *BICUBIC],
                                    "edgevsr did not write"),
    # special files are never replaced, and the message does not suggest --overwrite
    "fifo with --overwrite": (["upscale", "{d}/clip.mp4", "-o", "{d}/fifo.mp4", "--overwrite", *BICUBIC],
                              "not a regular file"),
    "fifo folder with --overwrite": (["upscale", "{d}/frames", "-o", "{d}/fifo", "--overwrite", *BICUBIC],
                                     "not a regular file"),
    "character device with --overwrite": (["upscale", "{d}/frames", "-o", "{d}/chardev", "--overwrite", *BICUBIC],
                                          "not a regular file"),
    "character device video": (["upscale", "{d}/clip.mp4", "-o", "{d}/chardev.mp4", *BICUBIC], "not a regular file"),
    "run sink character device": (["run", "-i", "{d}/clip.mp4", "-o", "{d}/chardev", "--overwrite", *BICUBIC],
                                  "not a regular file"),
    # names edgevsr cannot write are refused instead of becoming a folder of PNGs
    "unknown extension mp5": (["upscale", "{d}/clip.mp4", "-o", "{o}/out.mp5", *BICUBIC], "extension"),
    "unknown extension xyz": (["upscale", "{d}/clip.mp4", "-o", "{o}/out.xyz", *BICUBIC], "extension"),
    "stdout dash": (["upscale", "{d}/clip.mp4", "-o", "-", *BICUBIC], "stdout"),
    "run sink unknown extension": (["run", "-i", "{d}/clip.mp4", "-o", "{o}/out.xyz", *BICUBIC], "extension"),
    "degrade to an unknown extension": (["degrade", "{d}/frames", "{o}/lr.xyz"], "extension"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_existing_is_replaced_and_odd_outputs_are_refused(name, data, tmp_path, capsys, monkeypatch):
    args, expect = CASES[name]
    if "chardev" in " ".join(args) and not (data / "chardev").exists():
        pytest.skip("making a character device needs root")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EDGEVSR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("{d}", str(data)).replace("{o}", str(out)) for a in args]
    before = digest_tree(data)
    code, err = run_main(args, capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err, err
    assert code == 2, f"exit {code}: {err}"
    assert lines and lines[-1].startswith("edgevsr: error: "), err
    assert expect in lines[-1], lines[-1]
    if "not a regular file" in expect:
        assert "--overwrite" not in lines[-1], "a special file is never replaced: do not suggest --overwrite"
    assert digest_tree(data) == before, "a file beside the inputs was changed, added or removed"
    assert list(out.iterdir()) == [], f"left behind: {list(out.iterdir())}"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("out", "cache")]


def test_overwrite_replaces_a_file_edgevsr_can_write(data, tmp_path, capsys):
    """--overwrite still replaces a regular file (by rename, once the new one is complete)."""
    target = tmp_path / "mine.mp4"
    target.write_bytes(PRECIOUS)
    code, err = run_main(["upscale", str(data / "clip.mp4"), "-o", str(target), "--overwrite", *BICUBIC], capsys)
    assert code == 0, err
    assert target.read_bytes()[:8] != PRECIOUS[:8] and target.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["mine.mp4"]


def test_overwrite_replaces_a_folder_of_frames_edgevsr_wrote(data, tmp_path, capsys):
    out = tmp_path / "x4"
    out.mkdir()
    cv2.imwrite(str(out / "old.png"), np.zeros((8, 8, 3), np.uint8))
    code, err = run_main(["upscale", str(data / "frames"), "-o", str(out), "--overwrite", *BICUBIC], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["000.png", "001.png", "002.png", "003.png"]


def test_a_file_that_appears_while_the_run_works_is_kept(tmp_path):
    """The final rename never clobbers a file another program wrote meanwhile (without --overwrite)."""
    from edgevsr.errors import EdgeVSRError
    from edgevsr.io.writers import FrameSink

    out = tmp_path / "o.mp4"
    sink = FrameSink(out, fps=25)
    for f in moving_clip(2, 32, 48):
        sink.write(f)
    out.write_bytes(PRECIOUS)
    with pytest.raises(EdgeVSRError, match="meanwhile"):
        sink.close()
    assert out.read_bytes() == PRECIOUS
    assert [p.name for p in tmp_path.iterdir()] == ["o.mp4"]


def test_the_quantize_api_keeps_an_existing_file(tmp_path):
    import edgevsr
    from edgevsr.errors import EdgeVSRError

    out = tmp_path / "mine.onnx"
    out.write_bytes(PRECIOUS)
    with pytest.raises(EdgeVSRError, match="exists"):
        edgevsr.quantize("bicubic", out)
    assert out.read_bytes() == PRECIOUS


def test_eval_save_outputs_leaves_nothing_when_a_later_sequence_fails(tmp_path, capsys):
    """Saved outputs appear together once every sequence is scored; a failure removes what was saved so far."""
    gt = tmp_path / "gt"
    for name, (h, w) in (("a", (32, 48)), ("b", (2, 3))):  # b is too small to degrade: fails after a is saved
        (gt / name).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(gt / name / f"{i}.png"), np.full((h, w, 3), 90 + 40 * i, np.uint8))
    code, err = run_main(["eval", "--model", "bicubic", "--gt", str(gt), "--degrade", "BD", "--no-lpips",
                          "--no-tof", "--save-outputs", str(tmp_path / "saved")], capsys)
    assert code == 2 and "3x2" in err.splitlines()[-1], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt"]


def test_quantize_report_is_still_the_json_output_with_a_deprecation_note(tmp_path, capsys):
    """The old spelling --report still names quantize's JSON output (guarded like --json), with a one-line note."""
    target = tmp_path / "mine.json"
    target.write_bytes(PRECIOUS)
    code, err = run_main(["quantize", "bicubic", "-o", str(tmp_path / "q.onnx"), "--report", str(target)], capsys)
    assert "note: --report is deprecated and goes in the next release; use --json" in err, err
    assert code == 2 and "exists" in err.splitlines()[-1], err
    assert target.read_bytes() == PRECIOUS and sorted(p.name for p in tmp_path.iterdir()) == ["mine.json"]


@pytest.mark.parametrize("args", [
    ["quantize", "bicubic", "-o", "{o}/q.onnx", "--json", "{o}/q.onnx"],
    ["eval", "{d}/frames", "--gt", "{d}/frames", "--json", "{o}/s.png", "--plot", "{o}/s.png", "--no-lpips"],
])
def test_two_outputs_of_one_command_may_not_share_a_name(args, data, tmp_path, capsys):
    code, err = run_main([a.replace("{d}", str(data)).replace("{o}", str(tmp_path)) for a in args], capsys)
    assert code == 2 and "two outputs" in err.splitlines()[-1], err
    assert list(tmp_path.iterdir()) == []
