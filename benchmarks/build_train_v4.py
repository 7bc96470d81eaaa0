"""Build the `train-v4` dataset: train-v3 plus the real camera clips of `../shared/data/natural-video/`.

train-v4 = every source of train-v3 (see `build_train_v3.py` for the fetch commands) + seven of the nine natural
clips (people, liquids, roads, handheld and forward motion; MANIFEST.tsv gives their licences). Two natural clips
are held out entirely as test clips (never trained on, never used for selection): `sam2_dog_walkway` and
`mdn_flower_macro`. Two with fine static texture validate and select: `sam2_juggle_lawn` (trees, glass building)
and `sam2_letter_blocks` (printed letters on a gridded mat).

    python benchmarks/build_train_v4.py --pkgs data/pkgs/x --sources data/sources \
        --natural ../shared/data/natural-video -o data/train-v4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_train_v3 import sources as v3_sources  # noqa: E402

from edgevsr.data import BuildOptions, build_dataset
from edgevsr.errors import EdgeVSRError

NATURAL_TRAIN = ["sam2_cups", "sam2_coffee_pour", "sam2_bedroom_handheld", "udacity_highway_540p",
                 "udacity_highway_720p"]
NATURAL_VAL = ["sam2_juggle_lawn", "sam2_letter_blocks"]
NATURAL_TEST = ["sam2_dog_walkway", "mdn_flower_macro"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pkgs", type=Path, required=True, help="folder the .deb packages were extracted into")
    ap.add_argument("--sources", type=Path, required=True, help="folder with bikes.mp4 and carphone_pristine.mp4")
    ap.add_argument("--natural", type=Path, required=True, help="../shared/data/natural-video")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    natural = {n: args.natural / f"{n}.mp4" for n in NATURAL_TRAIN + NATURAL_VAL + NATURAL_TEST}
    missing = [str(p) for p in natural.values() if not p.is_file()]
    if missing:
        raise EdgeVSRError(f"{missing[0]}: natural clip not found")
    with tempfile.TemporaryDirectory() as tmp:
        srcs, val, test = v3_sources(args.pkgs, args.sources, Path(tmp))
        srcs += list(natural.values())
        opts = BuildOptions(min_diff=0.5, max_height=288, synth_blur=0.5, synth_parallax=0.25,
                            allow_partial=True)  # tree.avi: only its first 68 frames decode
        index = build_dataset(srcs, args.output, opts, val=val + NATURAL_VAL, test=test + NATURAL_TEST,
                              progress=lambda c: print(f"{c['name']:24s} {c['split']:5s} {c['frames']:4d} frames "
                                                       f"{c['width']}x{c['height']}", flush=True))
    counts = {s: sum(c["frames"] for c in index["clips"] if c["split"] == s) for s in ("train", "val", "test")}
    print(json.dumps(counts), f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        sys.exit(main())
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
