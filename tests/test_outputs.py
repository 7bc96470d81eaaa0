"""The output guarantees of edgevsr.io.atomic / writers (issue 14): replace only when complete, unique temps,
concurrent runs, full disks, signals, containers, timestamps and audio sync, damaged input kept on request."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path, new_folder
from edgevsr.io.frames import FrameSource
from edgevsr.io.writers import FrameSink
from tests.conftest import moving_clip, mux_silence, write_video
from tests.test_bad_inputs import truncated_video

CLI = [sys.executable, "-c", "from edgevsr.cli.main import main; main()"]


def frames(n: int = 4) -> list[np.ndarray]:
    return moving_clip(n, 32, 48)


def write_folder(path: Path, clip) -> None:
    with FrameSink(path, fps=25) as sink:
        for f in clip:
            sink.write(f)


def test_overwrite_replaces_a_folder_only_once_the_new_one_is_complete(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.png").write_bytes(b"old")  # a frame of an earlier run: what --overwrite may replace
    with pytest.raises(EdgeVSRError, match="not empty"):
        FrameSink(out)
    sink = FrameSink(out, overwrite=True)
    for f in frames(3):
        sink.write(f)
        assert (out / "old.png").read_bytes() == b"old"  # untouched while the new output is written
    sink.close()
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_run_leaves_the_old_output_and_no_temp(tmp_path):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(RuntimeError), FrameSink(out, fps=25, overwrite=True) as sink:
        sink.write(frames(1)[0])
        raise RuntimeError("model crashed")
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["o.mp4"]


def test_a_stale_temp_of_another_run_is_never_adopted(tmp_path):
    out = tmp_path / "seq"
    stale = tmp_path / ".seq.999999-stale.partial"  # what a SIGKILLed run leaves
    stale.mkdir()
    for i in range(38):
        (stale / f"{i:06d}.png").write_bytes(b"stale")
    write_folder(out, frames(5))
    assert len(list(out.iterdir())) == 5 and len(list(stale.iterdir())) == 38


@pytest.mark.parametrize("name", ["seq", "clip.mp4"])
def test_two_runs_to_one_output_end_with_one_complete_output(tmp_path, name):
    out = tmp_path / name
    a, b = FrameSink(out, fps=25), FrameSink(out, fps=25)
    for f in frames(4):
        a.write(f)
        b.write(f[::-1].copy())
    assert a.tmp != b.tmp
    a.close()
    with pytest.raises(EdgeVSRError, match="another run"):  # the second keeps the first's complete output
        b.close()
    assert sum(1 for _ in FrameSource(out)) == 4
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_atomic_path_turns_write_errors_into_one_line_and_removes_the_temp(tmp_path):
    with pytest.raises(EdgeVSRError, match=r"r.json: write failed"), atomic_path(tmp_path / "r.json"):
        raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_every_atomic_output_gets_the_umask_mode_whoever_wrote_the_temp(tmp_path):
    """safetensors' save_file writes its own 0600 file and renames it over the temp: the output was 0600 (a
    candidate or best.safetensors unreadable to the group) while every other output got the umask's 0644."""
    import torch
    from safetensors.torch import save_file

    want = 0o666 & ~_umask()
    with atomic_path(tmp_path / "w.safetensors") as tmp:
        save_file({"x": torch.zeros(2)}, str(tmp))
    with atomic_path(tmp_path / "r.json") as tmp:  # a writer that replaces the temp by a private file of its own
        fd, private = tempfile.mkstemp(dir=tmp_path)
        os.close(fd)
        os.replace(private, tmp)
    with atomic_path(tmp_path / "frames", is_dir=True) as tmp:
        (tmp / "0.png").write_bytes(b"x")
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {
        "w.safetensors": want, "r.json": want, "frames": 0o777 & ~_umask()}


def test_new_folder_removes_only_empty_folders_it_made(tmp_path):
    with pytest.raises(KeyboardInterrupt), new_folder(tmp_path / "a" / "b") as d:
        (d / "cache").mkdir()
        raise KeyboardInterrupt
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError), new_folder(tmp_path / "r") as d:
        (d / "kept.json").write_text("{}")
        raise ValueError
    assert (tmp_path / "r" / "kept.json").exists()


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("out_name", ["frames", "x4.mp4"])
def test_a_full_disk_is_one_line_exit_2_and_no_partial(tmp_path, out_name):
    """RLIMIT_FSIZE makes every write past 20 kB fail, as a full disk does (portable: no mount needed)."""
    src = write_video(tmp_path / "in.mp4", moving_clip(12, 64, 96))
    r = subprocess.run(CLI + ["upscale", str(src), "-o", str(tmp_path / out_name), "--model", "bicubic"],
                       capture_output=True, text=True, preexec_fn=_limit_file_size(20_000), timeout=300)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "write failed" in r.stderr.strip().splitlines()[-1], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE test covers write failures")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_enospc_on_a_real_full_filesystem(tmp_path, tiny_tmpfs):
    src = write_video(tmp_path / "in.mp4", moving_clip(12, 64, 96))
    r = subprocess.run(CLI + ["upscale", str(src), "-o", str(tiny_tmpfs / "frames"), "--model", "bicubic"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "No space left on device" in r.stderr, r.stderr
    assert list(tiny_tmpfs.iterdir()) == []


def test_sigterm_during_upscale_leaves_nothing(tmp_path):
    src = write_video(tmp_path / "in.mp4", moving_clip(400, 64, 96))
    p = subprocess.Popen(CLI + ["upscale", str(src), "-o", str(tmp_path / "o.mp4"), "--model", "bicubic"],
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".o.*.partial.mp4")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "stopped by SIGTERM" in err
    assert [x.name for x in tmp_path.iterdir()] == ["in.mp4"]


def _sigterm_once_the_temp_exists(p: subprocess.Popen, folder: Path, wait: float) -> str:
    """SIGTERM ``p`` once its ``.o.*.partial.*`` temp is in ``folder``; its stderr, after checking it ended with
    128 + SIGTERM and no traceback."""
    deadline = time.time() + wait
    while not list(folder.glob(".o.*.partial.*")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert list(folder.glob(".o.*.partial.*")), p.communicate(timeout=60)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err, err
    return err


@pytest.mark.parametrize("how", ["script", "module"])
def test_sigterm_during_a_script_write_leaves_nothing(tmp_path, how):
    """The python -m tools and benchmark scripts (hours, candidate, the run figures, train_step_speed) run through
    run_script: SIGTERM while a temp is open removes it and ends in one line, 143 (Python's default killed them
    with ``.NAME.PID-*.partial*`` left beside the output). ``module``: the real entry of a figure script."""
    code = (
        "import sys, time\n"
        "from edgevsr.io.atomic import atomic_path\n"
        "from edgevsr.io.signals import run_script\n"
        "def main():\n"
        f"    with atomic_path({str(tmp_path / 'o.json')!r}) as tmp:\n"
        "        tmp.write_text('{}')\n"
        "        time.sleep(60)\n"
        "    return 0\n"
        "run_script(main, 'demo')\n")
    if how == "module":  # the script's own __main__ block, with its drawing slowed down
        script = Path(__file__).resolve().parents[1] / "benchmarks" / "plot_runs_vs_time.py"
        src = script.read_text().replace("def plot(curves: dict[str, dict], output: Path) -> None:\n",
                                          "def plot(curves: dict[str, dict], output: Path) -> None:\n"
                                          "    __import__('time').sleep(60)\n")
        assert "sleep(60)" in src
        (tmp_path / "plot_runs_vs_time.py").write_text(src)
        run = tmp_path / "run"
        run.mkdir()
        (run / "train.csv").write_text("iteration,time\n10,1800000000\n20,1800000010\n")
        (run / "val.csv").write_text("iteration,psnr_y@c,psnr_y_bicubic_bd@c,tof@c,tof_bicubic_bd@c\n20,30,29,0.5,1\n")
        argv = [sys.executable, str(tmp_path / "plot_runs_vs_time.py"), f"x={run}", "-o", str(tmp_path / "o.png")]
    else:
        argv = [sys.executable, "-c", code]
    p = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert "stopped by SIGTERM" in _sigterm_once_the_temp_exists(p, tmp_path, 60)
    assert not list(tmp_path.glob(".o.*")) and not list(tmp_path.glob("o.*"))


SLOW_WRITE = {  # run before the tool: its write sleeps once the temp holds the data
    "widen": "import safetensors.torch as st\n_save = st.save_file\n"
             "st.save_file = lambda *a, **k: (_save(*a, **k), time.sleep(60))\n",
    "held_out": "import pathlib\n_write = pathlib.Path.write_text\n"
                "pathlib.Path.write_text = lambda self, *a, **k: (_write(self, *a, **k), time.sleep(60))\n",
}


@pytest.mark.parametrize("tool", sorted(SLOW_WRITE))
def test_sigterm_during_a_train_tool_write_leaves_nothing(tmp_path, tool):
    """``python -m edgevsr.train.widen`` / ``held_out`` (their own __main__ blocks, the write slowed down) run
    through run_script: Python's default died on SIGTERM with ``.o.PID-*.partial*`` left beside the output."""
    if tool == "widen":
        from safetensors.torch import save_file

        from edgevsr.models import build_model

        for name, model in (("lite", "egvsr-lite"), ("donor", "egvsr")):
            save_file(build_model(model).state_dict(), str(tmp_path / f"{name}.safetensors"))
        args = [str(tmp_path / "lite.safetensors"), str(tmp_path / "donor.safetensors"), "-o",
                str(tmp_path / "o.safetensors")]
    else:
        from tests.test_held_out import _report

        result = _report(tmp_path)
        (tmp_path / "o.json").write_text('{"name": "w1"}')  # the card it rewrites: kept as it was
        args = [str(result), "--weights", "w1", "--card", str(tmp_path / "o.json")]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    module = f"edgevsr.train.{tool}"
    code = (f"import runpy, sys, time\n{SLOW_WRITE[tool]}sys.argv = {[module, *args]!r}\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         cwd=tmp_path)
    assert f"{module}: stopped by SIGTERM" in _sigterm_once_the_temp_exists(p, tmp_path, 120)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("name, codec, decoded_as", [("o.mkv", None, "h264"), ("o.mov", None, "h264"),
                                                     ("o.mp4", "h265", "hevc"), ("o.webm", None, "vp9"),
                                                     ("o.y4m", None, "rawvideo")])
def test_encoder_follows_the_container(tmp_path, name, codec, decoded_as):
    # through the CLI in its own process: libx265 aborted inside pytest's process after other encoders ran
    src = write_video(tmp_path / "in.mp4", frames(3))
    r = subprocess.run(CLI + ["upscale", str(src), "-o", str(tmp_path / name), "--model", "bicubic"]
                       + (["--codec", codec] if codec else []), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / name)) as c:
        assert c.streams.video[0].codec_context.name == decoded_as
        assert sum(1 for _ in c.decode(video=0)) == 3


def test_one_image_to_an_image_file(tmp_path):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), cv2.cvtColor(frames(1)[0], cv2.COLOR_RGB2BGR))
    r = subprocess.run(CLI + ["upscale", str(img), "-o", str(tmp_path / "out.png"), "--model", "bicubic"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.png").is_file() and cv2.imread(str(tmp_path / "out.png")).shape == (128, 192, 3)


def vfr_clip_with_audio(path: Path, times: list[float]) -> Path:
    """H.264 frames at the given presentation times (variable frame rate) plus AAC audio over the same span."""
    clip = moving_clip(len(times), 32, 48)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=30)
        vs.height, vs.width, vs.pix_fmt = 32, 48, "yuv420p"
        vs.codec_context.time_base = vs.time_base = __import__("fractions").Fraction(1, 1000)
        a = c.add_stream("aac", rate=44100)
        for f, t in zip(clip, times, strict=True):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = round(t * 1000), vs.codec_context.time_base
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        mux_silence(c, a, times[-1] + 1 / 30)
    return path


def stream_times(path: Path) -> dict[str, list[float]]:
    """Video frame times, and each audio frame's end time (one demux pass per stream)."""
    out: dict[str, list[float]] = {"video": [], "audio": []}
    with av.open(str(path)) as c:
        out["video"] = [f.time for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        out["audio"] = [f.time + f.samples / f.sample_rate for f in c.decode(audio=0)]
    return out


def test_variable_frame_rate_and_audio_sync_are_kept(tmp_path):
    times = [0.0, 0.033, 0.2, 0.233, 0.4, 0.6, 0.633, 0.8]
    src = vfr_clip_with_audio(tmp_path / "vfr.mp4", times)
    r = subprocess.run(CLI + ["upscale", str(src), "-o", str(tmp_path / "x4.mp4"), "--model", "bicubic"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "audio kept" in r.stdout + r.stderr, r.stderr
    got = stream_times(tmp_path / "x4.mp4")
    assert got["video"] == pytest.approx(times, abs=1e-3)
    frame = 1 / 30
    with av.open(str(tmp_path / "x4.mp4")) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        v_start, a_start = float(v.start_time * v.time_base), float(a.start_time * a.time_base)
    src_times = stream_times(src)
    assert abs(v_start - a_start) <= frame  # audio and video start together
    # durations: the audio ends where the source's did, and the video's last frame ends within a frame of it
    assert abs(got["audio"][-1] - src_times["audio"][-1]) <= frame
    video_end = got["video"][-1] + frame
    assert abs((video_end - v_start) - (got["audio"][-1] - a_start)) <= frame


def test_damaged_input_kept_with_allow_partial(tmp_path):
    cut = truncated_video(tmp_path / "cut.mkv", keep=0.3)
    out = tmp_path / "x4.mp4"
    r = subprocess.run(CLI + ["upscale", str(cut), "-o", str(out), "--model", "bicubic", "--allow-partial"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    n = sum(1 for _ in FrameSource(out))
    assert 0 < n < 120 and f"kept the {n} frames that decoded" in r.stdout + r.stderr


def test_fp16_on_cpu_warns_in_one_line(tmp_path):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), cv2.cvtColor(frames(1)[0], cv2.COLOR_RGB2BGR))
    r = subprocess.run(CLI + ["upscale", str(img), "-o", str(tmp_path / "o.png"), "--model", "bicubic", "--fp16"],
                       capture_output=True, text=True, timeout=300)
    warn = [x for x in r.stderr.splitlines() if "warning" in x]
    assert len(warn) == 1 and warn[0].startswith("edgevsr: warning: --fp16 on the CPU"), r.stderr
