"""Pack a training set small enough to travel with a GPU sprint, and unpack it there into a dataset.

A lent GPU machine has no package registry and no ../shared; everything it trains on travels with the
call (64 MiB with the repository, which holds ~44 MiB of its own: `preflight.py` tells what is left). So `pack`
keeps what cannot be regenerated and drops what can, as lossy WebP (OpenCV's libwebp, which the GPU machine's
opencv-python-headless has too): ~0.6 x the bytes of JPEG at the same fidelity (q90 ~ JPEG q95, 43-46 dB
PSNR-Y against the dataset's PNGs; q95 ~ JPEG q97, 47-49 dB):

- each video clip of the dataset's train split: a contiguous run of at most ``--video-frames`` frames (q90) in a
  frame folder (the motion stays real);
- each real photograph behind the synthetic clips, once, area-downscaled as the dataset build did (q90):
  `unpack` re-synthesises ``--clips-per-photo`` camera pans from it with the same code
  (:func:`edgevsr.data.synthetic_motion`, motion blur and parallax), more than the CPU dataset holds;
- the validation clips' first ``--val-frames`` frames (q95): every clip of the val split, natural footage too.

    python benchmarks/gpu/sprint_data.py pack data/train-v4 data/sprint --photos-from data/pkgs/x --video-frames 40
    python3 benchmarks/gpu/sprint_data.py unpack data/sprint /tmp/sprint-ds      # on the GPU machine
    python3 benchmarks/gpu/sprint_data.py tiny data/sprint     # a packed set of a few KiB (run_all's rehearsal)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a bare checkout (no pip install there)

from edgevsr.data import BuildOptions, build_dataset, read_index  # noqa: E402
from edgevsr.errors import EdgeVSRError  # noqa: E402
from edgevsr.io.frames import list_images, read_image  # noqa: E402

MANIFEST = "sprint.json"
EXT = ".webp"
QUALITY = {"videos": 90, "photos": 90, "val": 95}  # WebP; the validation ground truth a notch finer


def _write(path: Path, rgb: np.ndarray, quality: int) -> None:
    """``path`` without suffix + EXT, lossy WebP at ``quality``."""
    path = path.with_suffix(EXT)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, quality]):
        raise EdgeVSRError(f"{path}: cannot write (OpenCV without WebP?)")


def _photo(packed: Path, name: str) -> Path:
    """A packed photograph: WebP, or JPEG in a set packed before WebP."""
    path = packed / "photos" / f"{name}{EXT}"
    return path if path.is_file() else path.with_suffix(".jpg")


def _photo_sources(photos_from: Path | None) -> dict[str, Path]:
    """Photo name (the clip name without its _k suffix) -> original file: opencv-doc + the extracted packages."""
    from edgevsr.train import datasets as v3

    doc = v3.DOC / "examples/data"
    out = {n: doc / f"{n}.jpg" for n in v3.V2_PHOTOS} | {n: doc / f"{n}.png" for n in v3.V2_PNG}
    if photos_from:
        out |= {n: photos_from / rel for n, rel in v3.PHOTOS.items()}
    return out


def pack(root: Path, out: Path, photos_from: Path | None, video_frames: int, val_frames: int,
         max_height: int = 288) -> dict:
    index = read_index(root)
    if out.exists():
        shutil.rmtree(out)
    (out / "videos").mkdir(parents=True)
    (out / "photos").mkdir()
    (out / "val").mkdir()
    photos = _photo_sources(photos_from)
    manifest = {"videos": [], "photos": [], "val": [], "source_index": str(root / "index.json")}
    for c in index["clips"]:
        name = c["name"]
        if c["split"] == "val":
            d = out / "val" / name
            d.mkdir()
            for i, f in enumerate(list_images(root / name)[:val_frames]):
                _write(d / f"{i:06d}", read_image(f), QUALITY["val"])
            manifest["val"].append(name)
        elif c["split"] == "train" and c["kind"] == "video":
            d = out / "videos" / name
            d.mkdir()
            files = list_images(root / name)
            start = max(0, (len(files) - video_frames) // 2)
            for i, f in enumerate(files[start:start + video_frames]):
                _write(d / f"{i:06d}", read_image(f), QUALITY["videos"])
            manifest["videos"].append(name)
        elif c["split"] == "train":
            base = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[0] in photos else name
            if base in manifest["photos"]:
                continue
            if base not in photos and Path(c.get("source", "")).is_file():  # a dataset built from lasting paths
                photos[base] = Path(c["source"])
            if base not in photos or not photos[base].is_file():
                raise EdgeVSRError(f"{name}: the photo behind this synthetic clip is not found (--photos-from)")
            img = read_image(photos[base])
            h, w = img.shape[:2]
            if h > 2 * max_height:  # as build_dataset does for photos
                img = cv2.resize(img, (round(w * 2 * max_height / h), 2 * max_height), interpolation=cv2.INTER_AREA)
            _write(out / "photos" / base, img, QUALITY["photos"])
            manifest["photos"].append(base)
    manifest["options"] = index.get("options", {})
    manifest["format"] = {"ext": EXT, "quality": QUALITY, "video_frames": video_frames, "val_frames": val_frames}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def unpack(packed: Path, out: Path, clips_per_photo: int) -> dict:
    manifest = json.loads((packed / MANIFEST).read_text())
    links = out.parent / f".{out.name}-sources"
    if links.exists():
        shutil.rmtree(links)
    links.mkdir(parents=True)
    sources = [packed / "videos" / n for n in manifest["videos"]] + [packed / "val" / n for n in manifest["val"]]
    for name in manifest["photos"]:
        photo = _photo(packed, name)
        for k in range(clips_per_photo):
            link = links / f"{name}_{k}{photo.suffix}"
            link.symlink_to(photo.resolve())
            sources.append(link)
    opts = manifest.get("options", {})
    build = BuildOptions(min_diff=0.0, max_height=opts.get("max_height", 288), synth_blur=opts.get("synth_blur", 0.5),
                         synth_parallax=opts.get("synth_parallax", 0.25), seed=1)
    return build_dataset(sources, out, build, val=manifest["val"])


def tiny(out: Path) -> dict:
    """A packed set in the same layout from one real photograph (matplotlib's), for the CPU rehearsal.

    A pan across the photo stands for the train video, the photo itself for the synthetic clips, a second
    pan for the validation clip; no PyAV needed, as on the GPU machine.
    """
    import matplotlib

    photo = read_image(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    if out.exists():
        shutil.rmtree(out)
    for name, n, (h, w), y0 in (("pan", 8, (96, 128), 0), ("held", 6, (64, 96), 200)):
        d = out / ("videos" if name == "pan" else "val") / name
        d.mkdir(parents=True)
        for i in range(n):
            _write(d / f"{i:06d}", photo[y0 + 2 * i: y0 + 2 * i + h, 3 * i: 3 * i + w], 95)
    (out / "photos").mkdir()
    _write(out / "photos" / "photo", cv2.resize(photo, (260, 200), interpolation=cv2.INTER_AREA), QUALITY["photos"])
    manifest = {"videos": ["pan"], "photos": ["photo"], "val": ["held"], "source_index": "tiny", "options": {},
                "format": {"ext": EXT, "quality": QUALITY}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("root", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--photos-from", type=Path, help="folder the wallpaper .deb packages were extracted into")
    p.add_argument("--video-frames", type=int, default=40, help="per train video (the size: preflight.py)")
    p.add_argument("--val-frames", type=int, default=30)
    u = sub.add_parser("unpack")
    u.add_argument("packed", type=Path)
    u.add_argument("out", type=Path)
    u.add_argument("--clips-per-photo", type=int, default=6)
    t = sub.add_parser("tiny")
    t.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "tiny":
        tiny(args.out)
        print(f"{args.out}: tiny packed set (rehearsal)")
    elif args.cmd == "pack":
        m = pack(args.root, args.out, args.photos_from, args.video_frames, args.val_frames)
        size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
        print(f"{args.out}: {len(m['videos'])} videos, {len(m['photos'])} photos, val {m['val']}; "
              f"{size / 2**20:.1f} MiB")
    else:
        index = unpack(args.packed, args.out, args.clips_per_photo)
        counts = {s: sum(c["frames"] for c in index["clips"] if c["split"] == s) for s in ("train", "val")}
        print(f"{args.out}: {len(index['clips'])} clips, frames {counts}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
