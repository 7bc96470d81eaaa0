"""edgevsr batch as users run it: the CLI killed and resumed, and a two-node Ray cluster over loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from batch_helpers import decode, shots
from conftest import write_video

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.upscale import upscale_file

ray = pytest.importorskip("ray", reason="edgevsr[cluster] (Ray) not installed")
pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "edgevsr.cli.main", "batch"]
# Token auth keeps its token in ~/.ray, shared by every Ray on this host: the test clusters opt out.
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def same_as_upscale(src: Path, out: Path, tmp_path: Path) -> bool:
    runner, _ = make_runner(RunnerConfig(model="egvsr-lite"))
    ref = tmp_path / f"ref-{src.stem}.mp4"
    upscale_file(runner, src, ref, crf=0)
    got, want = decode(out)[0], decode(ref)[0]
    return len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))


def chunk_lines(journal: Path) -> list[dict]:
    lines = journal.read_text().splitlines() if journal.exists() else []
    return [e for e in (json.loads(x) for x in lines if x.endswith("}")) if e["type"] == "chunk"]


def test_driver_killed_then_resumed(tmp_path):
    src = write_video(tmp_path / "in" / "v.mp4" if (tmp_path / "in").mkdir() is None else None,
                      shots([6] * 6), fps=24)
    out = tmp_path / "out"
    args = CLI + [str(src), "-o", str(out), "--model", "egvsr-lite", "--workers", "1", "--crf", "0"]
    journal = out / ".edgevsr-batch" / "journal.jsonl"
    driver = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env=ENV)
    deadline = time.time() + 240
    while not chunk_lines(journal) and time.time() < deadline and driver.poll() is None:
        time.sleep(0.2)
    driver.kill()  # SIGKILL: no clean-up runs in the driver; Ray's reaper stops its local cluster
    driver.wait()
    first = chunk_lines(journal)
    assert 1 <= len(first) < 6 and not (out / "v.mp4").exists()
    done = subprocess.run(args + ["--resume", "--json", str(tmp_path / "s.json")], capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads((tmp_path / "s.json").read_text())["inputs"][0]
    assert row["status"] == "ok" and row["chunks"] == 6 and row["chunks_reused"] >= len(first)
    keys = [e["key"] for e in chunk_lines(journal)]
    assert len(keys) == len(set(keys)) == 6  # no chunk done twice
    assert same_as_upscale(src, out / "v.mp4", tmp_path)
    assert not any((out / ".edgevsr-batch" / "segments").iterdir())  # our segments are cleaned up
    # the same command again over an output this job wrote: nothing to do; an unrelated file is never overwritten
    other = tmp_path / "in" / "w.mp4"
    shutil.copy(src, other)
    (out / "w.mp4").write_bytes(b"somebody else's file")
    again = subprocess.run(args[:4] + [str(src), str(other)] + args[5:] + ["--resume", "--json",
                                                                           str(tmp_path / "s2.json")],
                           capture_output=True, text=True, timeout=300, env=ENV)
    rows = {Path(r["input"]).name: r for r in json.loads((tmp_path / "s2.json").read_text())["inputs"]}
    assert again.returncode == 2 and rows["v.mp4"]["status"] == "skipped"
    assert rows["w.mp4"]["status"] == "failed" and "not written by edgevsr batch" in rows["w.mp4"]["error"]
    assert (out / "w.mp4").read_bytes() == b"somebody else's file"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def ray_node(port: int, head: bool, tmp: Path) -> subprocess.Popen:
    p = free_ports(6)
    role = ["--head", f"--port={port}", f"--ray-client-server-port={p[0]}", f"--temp-dir={tmp}",
            "--include-dashboard=false"] if head else [f"--address=127.0.0.1:{port}"]
    cmd = [shutil.which("ray") or "ray", "start", *role, "--num-cpus=1", "--num-gpus=0", "--block",
           "--disable-usage-stats",
           f"--dashboard-agent-listen-port={p[1]}", f"--dashboard-agent-grpc-port={p[2]}",
           f"--metrics-export-port={p[3]}", f"--runtime-env-agent-port={p[4]}", f"--node-manager-port={p[5]}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=ENV)


def stop(node: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(node.pid, sig)  # the process group this test started, nothing else
        except ProcessLookupError:
            return
        try:
            node.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue


def test_two_nodes_over_loopback(tmp_path):
    src = write_video(tmp_path / "in" / "v.mp4" if (tmp_path / "in").mkdir() is None else None,
                      shots([6] * 4), fps=24)
    port = free_ports(1)[0]
    temp = Path("/tmp") / f"ray-edgevsr-{os.getpid()}"  # short: Ray's socket paths have a length limit
    head = ray_node(port, True, temp)
    nodes = [head]
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            probe = subprocess.run(["ray", "status", f"--address=127.0.0.1:{port}"], capture_output=True, text=True,
                                   env=ENV)
            if probe.returncode == 0:
                break
            time.sleep(1)
        nodes.append(ray_node(port, False, temp))  # the second actor is placed once this node has joined
        done = subprocess.run(CLI + [str(src), "-o", str(tmp_path / "out"), "--address", f"127.0.0.1:{port}",
                                     "--model", "egvsr-lite", "--workers", "2", "--crf", "0",
                                     "--json", str(tmp_path / "s.json")], capture_output=True, text=True,
                              timeout=300, env=ENV)
        assert done.returncode == 0, done.stderr[-2000:]
        s = json.loads((tmp_path / "s.json").read_text())
        assert len({w["node"] for w in s["workers"]}) == 2  # one actor per node (one CPU each)
        assert all(w["chunks"] >= 1 for w in s["workers"])
        assert same_as_upscale(src, tmp_path / "out" / "v.mp4", tmp_path)
    finally:
        for node in reversed(nodes):
            stop(node)
        shutil.rmtree(temp, ignore_errors=True)
