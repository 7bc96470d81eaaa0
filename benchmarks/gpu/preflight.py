"""Before the one call: will the tree travel (<= 64 MiB with what is carried) and is the carried data there?

The device tool sends tracked files, untracked files git does not ignore, and the ignored paths named in
``carry``; all of it must fit in 64 MiB. Prints the sizes and the `carry` list to pass; exit 1 when over.

    python benchmarks/gpu/preflight.py [--carry data/sprint] [--carry .whl]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

LIMIT_MIB = 64.0


def size_mib(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.is_file() and not p.is_symlink()) / 2**20


def travelling(root: Path) -> list[Path]:
    """What the device tool sends of the working tree itself (tracked + untracked-not-ignored)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                             check=True).stdout.split(b"\0")
        return [root / p.decode() for p in out if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but the usual ignores
        skip = {".git", ".venv", "data", "runs", "out", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}
        return [p for p in root.rglob("*") if not skip & set(p.relative_to(root).parts)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carry", action="append", default=[], help="an ignored path the call carries")
    args = ap.parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    tree = size_mib(travelling(root))
    total, problems = tree, []
    print(f"tree: {tree:.1f} MiB")
    for c in args.carry:
        p = root / c
        if not p.exists():
            problems.append(f"{c}: not here (nothing to carry)")
            continue
        mib = size_mib(list(p.rglob("*")) if p.is_dir() else [p])
        total += mib
        print(f"carry {c}: {mib:.1f} MiB")
    if "data/sprint" in args.carry and not (root / "data/sprint/sprint.json").is_file():
        problems.append("data/sprint has no sprint.json: pack it (docs/training.md 5b)")
    print(f"in all: {total:.1f} MiB of {LIMIT_MIB:.0f}; carry: {args.carry}")
    if total > LIMIT_MIB:
        problems.append(f"{total - LIMIT_MIB:.1f} MiB over: pack fewer frames (sprint_data.py pack --video-frames N)")
    for p in problems:
        print(f"preflight: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
