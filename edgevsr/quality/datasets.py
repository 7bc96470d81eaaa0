"""Where the sequences of a dataset are: DATASET/GT/<seq>/ frame folders (any depth), videos, or one clip.

Frames of a sequence are matched by natural-sorted position, so ``im10`` pairs
with ``010`` and not with ``002``.
"""

from __future__ import annotations

from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import IMAGE_EXTS, VIDEO_EXTS, FrameSource, list_images, natural_key


def gt_root(path: Path) -> Path:
    """DATASET/ with a GT/ folder inside means DATASET/GT (the Vid4 / ToS3 layout)."""
    return path / "GT" if (path / "GT").is_dir() else path


def discover_sequences(root: str | Path) -> list[tuple[str, Path]]:
    """(name, path) of every sequence under ``root``: each folder holding images, at any depth, named by its
    path relative to ``root``; ``root`` itself when it is a frame folder or a video."""
    root = Path(root)
    if not root.exists():
        raise EdgeVSRError(f"{root}: no such file or folder")
    if root.is_file():
        return [(root.stem, root)]
    if list_images(root):
        return [(root.name, root)]
    found = []
    dirs = sorted((p for p in root.rglob("*") if p.is_dir()),
                  key=lambda p: [natural_key(Path(x)) for x in p.relative_to(root).parts])
    for d in dirs:
        if list_images(d):
            found.append((d.relative_to(root).as_posix(), d))
    if not found:
        videos = sorted((p for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTS), key=natural_key)
        found = [(p.stem, p) for p in videos]
    if not found:
        raise EdgeVSRError(f"{root}: no sequences (folders of {', '.join(sorted(IMAGE_EXTS))} images or videos)")
    return found


def match_sequence(root: Path, name: str, single: bool, what: str) -> Path:
    """The sequence ``name`` under ``root`` (a folder, or a video named after it); ``root`` itself if it
    is a frame folder / video and there is only one sequence."""
    if single and (root.is_file() or (root.is_dir() and list_images(root))):
        return root
    cand = root / name
    if cand.is_dir():
        return cand
    for p in sorted(cand.parent.glob(cand.name + ".*")) if cand.parent.is_dir() else []:
        if p.suffix.lower() in VIDEO_EXTS:
            return p
    raise EdgeVSRError(f"{root}: no {what} for sequence {name!r} (looked for {cand}/ and {cand}.<video>)")


def total_frames(gt: str | Path) -> int | None:
    """Frames in a dataset (GT or outputs), for progress bars (None if a video does not say)."""
    counts = [FrameSource(p).info.frame_count for _, p in discover_sequences(gt_root(Path(gt)))]
    return None if any(c is None for c in counts) else sum(counts)
