"""Memory stays bounded: peak RSS of `edgevsr upscale` on 30 vs 3000 frames of one clip, and RSS over a soak of
`edgevsr run` on >= 10,000 test:// frames (issue 14).

    python benchmarks/bench_memory.py [--size 96x64] [--short 30] [--long 3000] [--soak 10000] [--model bicubic]

Each figure comes from a fresh `edgevsr` process (the real CLI, real decoder/encoder): peak RSS is the
process's own ``ru_maxrss`` printed at exit; the soak samples ``VmRSS`` from /proc every 0.5 s and compares
the median of the second tenth of the run (after start-up) with the median of the last tenth. The clip is
the test pattern encoded once as H.264 (3000 frames), the 30-frame clip is its first 30 frames.
Prints a table, writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PEAK = ("import atexit, resource, sys; atexit.register(lambda: print('PEAK_KB', "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)); "
        "from edgevsr.cli.main import main; main()")


def make_clip(path: Path, frames: int, w: int, h: int) -> Path:
    from edgevsr.edge.sources import TestPatternSource
    from edgevsr.io.writers import FrameSink

    src = TestPatternSource(w, h, 30.0, frames, cuts=0, realtime=False)
    with FrameSink(path, fps=30) as sink:
        for f in src.frames():
            sink.write(f)
    return path


def peak_rss_mib(args: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"edgevsr {' '.join(args)} failed: {r.stderr.strip().splitlines()[-1:]}")
    kb = next(int(x.split()[1]) for x in r.stderr.splitlines() if x.startswith("PEAK_KB"))
    return kb / 1024, time.perf_counter() - t0


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def soak(frames: int, w: int, h: int, model: str) -> dict:
    uri = f"test://?frames={frames}&width={w}&height={h}&realtime=0"
    p = subprocess.Popen([sys.executable, "-c", "from edgevsr.cli.main import main; main()", "run", "--source", uri,
                          "--sink", "null://", "--model", model, "--no-overlay"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    while p.poll() is None:
        v = rss_mib(p.pid)
        if v is not None:
            samples.append((time.perf_counter() - t0, v))
        time.sleep(0.5)
    err = p.stderr.read()
    if p.returncode != 0:
        raise SystemExit(f"soak failed: {err.strip().splitlines()[-1:]}")
    n = len(samples)
    early = [v for _, v in samples[n // 10: max(n // 10 + 1, n // 5)]]
    late = [v for _, v in samples[-max(1, n // 10):]]
    shown = next((x for x in err.splitlines() if "frames shown" in x), "")
    return {"frames": frames, "size": f"{w}x{h}", "model": model, "seconds": round(time.perf_counter() - t0, 1),
            "samples": n, "rss_early_mib": round(statistics.median(early), 1),
            "rss_late_mib": round(statistics.median(late), 1), "rss_max_mib": round(max(v for _, v in samples), 1),
            "growth_pct": round(100 * (statistics.median(late) / statistics.median(early) - 1), 2),
            "summary": shown.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="96x64", help="LR WIDTHxHEIGHT")
    ap.add_argument("--short", type=int, default=30)
    ap.add_argument("--long", type=int, default=3000)
    ap.add_argument("--soak", type=int, default=10000)
    ap.add_argument("--model", default="bicubic")
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        long_clip = make_clip(tmp / "long.mp4", a.long, w, h)
        short_clip = make_clip(tmp / "short.mp4", a.short, w, h)
        runs = {}
        for name, clip, n in (("short", short_clip, a.short), ("long", long_clip, a.long)):
            mib, secs = peak_rss_mib(["upscale", str(clip), "-o", str(tmp / f"{name}_x4.mp4"), "--model", a.model])
            runs[name] = {"frames": n, "peak_rss_mib": round(mib, 1), "seconds": round(secs, 1)}
        diff = 100 * (runs["long"]["peak_rss_mib"] / runs["short"]["peak_rss_mib"] - 1)
    soaked = soak(a.soak, w, h, a.model)
    doc = {"upscale": runs, "peak_rss_diff_pct": round(diff, 2), "soak": soaked,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "loadavg": os.getloadavg()}, "command": " ".join(sys.argv)}
    print(f"{'edgevsr upscale (' + a.model + ', ' + a.size + ')':<40} {'frames':>7} {'peak RSS MiB':>13} {'s':>7}")
    for name in ("short", "long"):
        r = runs[name]
        print(f"{name:<40} {r['frames']:>7} {r['peak_rss_mib']:>13.1f} {r['seconds']:>7.1f}")
    print(f"peak RSS {a.long} vs {a.short} frames: {diff:+.2f} %")
    print(f"soak: edgevsr run {a.soak} test:// frames in {soaked['seconds']} s: RSS {soaked['rss_early_mib']} MiB "
          f"early -> {soaked['rss_late_mib']} MiB late ({soaked['growth_pct']:+.2f} %), "
          f"max {soaked['rss_max_mib']} MiB")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
