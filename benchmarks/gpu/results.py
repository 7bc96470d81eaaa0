"""The one results file of `run_all.sh` and the limits on what a lent GPU machine sends back.

The JSON is rewritten whole after every row (write beside, then rename), so a step killed by its timeout
leaves every earlier row readable: ``{"rows": [{"step": ..., ...}, ...]}``.

    python benchmarks/gpu/results.py add FILE STEP [KEY=VALUE ...]   # one row; VALUE read as JSON if it parses
    python benchmarks/gpu/results.py summary FILE                     # steps, then the latency table
    python benchmarks/gpu/results.py check DIR [--files 8] [--depth 2]
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def add_row(path: str | Path, row: dict) -> None:
    """Append ``row`` (stamped with the UTC time) to the results JSON at ``path``, atomically."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {"rows": []}
    doc["rows"].append({**row, "at": time.strftime("%H:%M:%S", time.gmtime())})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def out_problems(root: str | Path, max_files: int = 8, max_depth: int = 2) -> list[str]:
    """Why ``root`` would not come back whole from the device machine (empty when it would)."""
    root = Path(root)
    problems, files = [], []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not NAME.match(p.name):
            problems.append(f"{rel}: name has characters other than letters, digits, '.', '_', '-'")
        if p.is_symlink() or not (p.is_file() or p.is_dir()):
            problems.append(f"{rel}: not a plain file or folder")
        elif p.is_file():
            files.append(rel)
            if len(rel.parts) - 1 > max_depth:
                problems.append(f"{rel}: more than {max_depth} folders down")
    if len(files) > max_files:
        problems.append(f"{len(files)} files (at most {max_files}): {', '.join(map(str, files))}")
    return problems


def summary(path: str | Path) -> list[str]:
    """The lines printed last by run_all.sh (the device reply carries the end of the output)."""
    try:
        rows = json.loads(Path(path).read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return [f"{path}: no results"]
    lines = []
    for r in rows:
        if "status" not in r:  # latency cells and the probe: below / in the log
            continue
        what = r.get("reason") or r.get("last", "")
        lines.append(f"{r['step']:<18} {r['status']:<8} {r.get('seconds', '-'):>4} s  {str(what)[:90]}")
    setup = next((r for r in rows if r.get("step") == "latency-setup"), None)
    if setup:
        lines.append(f"{setup['gpu']}: measured FP16 peak {setup['measured_fp16_peak_tflops']} TFLOPS; "
                     f"'fp32' runs as {setup['fp32_runs_as']}")
    for r in rows:
        if r.get("step") != "latency" or "model" not in r:  # run_all's own "latency" row is a step's
            continue
        cell = f"{r['model']:<11} {r['label']:<18} {r['mode']:<13}"
        if "p50_ms" in r:
            lines.append(f"{cell} {r['p50_ms']:>8.2f} ms p50 {r['p99_ms']:>8.2f} p99 {r['fps']:>7.1f} FPS "
                         f"{r.get('pct_measured_fp16_peak', 0):>5.1f} % peak")
        else:
            lines.append(f"{cell} {r.get('skipped') or r.get('error')}")
    return lines


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "add":
        row = {"step": argv[2] if len(argv) > 2 else "note"}
        for item in argv[3:]:
            key, _, value = item.partition("=")
            row[key] = _value(value)
        add_row(argv[1], row)
        return 0
    if len(argv) >= 2 and argv[0] == "summary":
        print("\n".join(summary(argv[1])))
        return 0
    if len(argv) >= 2 and argv[0] == "check":
        files = int(argv[argv.index("--files") + 1]) if "--files" in argv else 8
        depth = int(argv[argv.index("--depth") + 1]) if "--depth" in argv else 2
        problems = out_problems(argv[1], files, depth)
        for p in problems:
            print(f"OUT limit: {p}")
        return 1 if problems else 0
    print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
