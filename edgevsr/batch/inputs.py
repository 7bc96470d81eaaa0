"""What a batch job reads and where each output goes: files, folders (recursive) and manifests.

Every output lands under OUT_DIR at the input's path relative to the folder or manifest it
came from. The data-safety rules are checked here, before anything runs: OUT_DIR may not lie
inside an input folder, no output may resolve onto an input, and two inputs may not share
an output path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import VIDEO_EXTS, natural_key

MANIFEST_EXTS = {".txt", ".lst", ".list"}
# Containers that hold H.264 plus copied audio/subtitles well; anything else is written as .mkv.
KEPT_SUFFIXES = {".mp4", ".mkv", ".mov", ".m4v"}
WORK_DIR_NAME = ".edgevsr-batch"


@dataclass(frozen=True)
class BatchInput:
    source: Path  # resolved
    rel: Path  # output path relative to OUT_DIR
    root: Path | None = None  # the folder it was found in (for the output-inside-input check)


def output_rel(rel: Path) -> Path:
    return rel if rel.suffix.lower() in KEPT_SUFFIXES else rel.with_suffix(".mkv")


def _walk(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: [natural_key(Path(part)) for part in p.relative_to(folder).parts])


def _read_manifest(path: Path) -> list[BatchInput]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeVSRError(f"{path}: cannot read manifest ({exc})") from None
    base = path.parent.resolve()
    found = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line).expanduser()
        p = p if p.is_absolute() else base / p
        if not p.is_file():
            raise EdgeVSRError(f"{path}:{n}: {line}: no such video file")
        src = p.resolve()
        rel = src.relative_to(base) if src.is_relative_to(base) else Path(src.name)
        found.append(BatchInput(src, output_rel(rel)))
    return found


def collect_inputs(items: list[Path]) -> list[BatchInput]:
    """Expand files, folders and manifests into inputs with their output paths (in a stable order)."""
    found: list[BatchInput] = []
    for item in items:
        item = Path(item).expanduser()
        if item.is_dir():
            root = item.resolve()
            videos = _walk(root)
            if not videos:
                raise EdgeVSRError(f"{item}: folder holds no videos ({', '.join(sorted(VIDEO_EXTS))})")
            found += [BatchInput(v.resolve(), output_rel(v.relative_to(root)), root) for v in videos]
        elif item.is_file() and item.suffix.lower() in MANIFEST_EXTS:
            found += _read_manifest(item)
        elif item.is_file():
            found.append(BatchInput(item.resolve(), output_rel(Path(item.name))))
        else:
            raise EdgeVSRError(f"{item}: no such file or folder")
    if not found:
        raise EdgeVSRError("no inputs given")
    return found


def check_outputs(inputs: list[BatchInput], out_dir: Path) -> Path:
    """Refuse layouts that could overwrite or feed back into the inputs; returns OUT_DIR resolved."""
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise EdgeVSRError(f"{out_dir}: output must be a folder, this is a file")
    sources = {i.source for i in inputs}
    seen: dict[Path, Path] = {}
    for i in inputs:
        if i.root is not None and out.is_relative_to(i.root):
            raise EdgeVSRError(f"{out_dir}: output folder lies inside input folder {i.root}; choose one outside it")
        dst = (out / i.rel).resolve()
        if dst in sources:
            raise EdgeVSRError(f"{i.source}: its output {dst} would overwrite an input")
        if dst in seen:
            raise EdgeVSRError(f"{i.source} and {seen[dst]} would both be written to {dst}; "
                               "give them separate folders or a manifest")
        seen[dst] = i.source
    return out
