"""FNet endpoint error to the OpenCV DIS teacher (HR frames), per clip, for several weight files side by side.

    python benchmarks/fnet_epe.py --clips data/train-v3/{pan_grey,cup,pan_moss,bikes} --frames 20 \\
        egvsr=runs/egvsr-stage0-widened/best.safetensors egvsr-lite=egvsr-lite-stage1 -o out.json

Cell: FNet EPE / zero flow's EPE, in LR pixels (a collapsed FNet scores the zero-flow figure: the motion). Stage 0
selects on three validation clips; this shows what its flow does on clips it never saw.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.train.flow_pretrain import clip_flow_epe
from edgevsr.train.validate import load_val_clips
from edgevsr.weights import load_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", nargs="+", metavar="MODEL=WEIGHTS", help="a shipped name or a file")
    p.add_argument("--clips", nargs="+", required=True, help="dataset clip folders (ROOT/NAME)")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("-o", "--output", type=Path)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    try:
        clips = [c for path in map(Path, a.clips) for c in load_val_clips(path.parent, [path.name], a.frames)]
        rows = []
        for spec in a.weights:
            name, sep, weights = spec.partition("=")
            if not sep:
                raise EdgeVSRError(f"{spec!r}: expected MODEL=WEIGHTS")
            model, _ = load_model(name, weights)
            with torch.no_grad():
                cells = {c.name: clip_flow_epe(model.eval().fnet, c.lr, c.hr, model.scale, model.size_multiple)
                         for c in clips}
            rows.append({"weights": spec, "clips": cells})
    except EdgeVSRError as exc:
        raise SystemExit(f"error: {exc}") from None
    print("| weights | " + " | ".join(c.name for c in clips) + " |\n|---|" + "---|" * len(clips))
    for r in rows:
        print(f"| {r['weights']} | " + " | ".join(f"{v['flow_epe']:.2f} / {v['flow_epe_zero']:.2f}"
                                                  for v in r["clips"].values()) + " |")
    if a.output:
        a.output.write_text(json.dumps({"frames": a.frames, "rows": rows}, indent=1))
        print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
