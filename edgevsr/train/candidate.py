"""Keep a training line's current candidate in the repository: ``runs/`` lives only as long as the machine.

``python -m edgevsr.train.candidate RUN_DIR OUT.safetensors`` writes the run's ``best.safetensors`` rounded to
FP16 (a few MB) to ``OUT`` and a ``.json`` beside it (run, model, stage, iteration, the best validation row,
SHA-256 of the file), replacing the previous candidate. A new machine starts the next run from it
(``init: training/candidates/<line>.safetensors``).

``--last`` keeps the last checkpoint's generator instead (its weight average with ``ema_decay``): a stage-2 run
whose selection rule no checkpoint has passed yet has no ``best.safetensors``, and its hours would be lost with
the machine. The discriminator is not kept: a run from the candidate starts a fresh one.

``--iteration N`` keeps the generator validated at N (``validated/N.safetensors``, written with ``keep_validated``)
with its row of ``val.csv``: the checkpoint chosen afterwards on more clips than the run validates on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from edgevsr.errors import EdgeVSRError
from edgevsr.train.hours import BEST_SHA256, chosen_file, read_mapping


def write_candidate(run_dir: Path, out: Path, last: bool = False, iteration: int | None = None) -> dict:
    from safetensors.torch import save_file

    from edgevsr.io.atomic import atomic_path
    from edgevsr.weights import file_sha256, read_state_dict

    run_dir, out = Path(run_dir), Path(out)
    if out.suffix.lower() != ".safetensors":  # an init is read as safetensors only by that suffix; and OUT.json
        raise EdgeVSRError(f"{out}: the candidate is written as safetensors (.safetensors), its card beside it "
                           "as .json")
    weights, record = chosen_file(run_dir, last, iteration)
    cfg = run_dir / "config.yaml"
    # every file the card needs, read and checked before anything is written
    config = read_mapping(cfg, yaml.safe_load, "a mapping (damaged or not the run's file?)")
    data = config.get("data")
    if not isinstance(data, dict) or any(k not in config for k in ("model", "stage")) or \
            any(k not in data for k in ("root", "val_clips")):
        raise EdgeVSRError(f"{cfg}: no model/stage/data.root/data.val_clips (not a training run's config.yaml?)")
    if last:
        from edgevsr.train.ship import last_checkpoint

        state, iteration, averaged = last_checkpoint(run_dir)
        row = {"iteration": iteration, "weights": "ema" if averaged else "raw", "selected": "last checkpoint"}
    elif iteration is not None:
        row = {**record, "selected": f"validated at {iteration}"}
        state = read_state_dict(weights)
    else:
        row = {k: v for k, v in record.items() if k != BEST_SHA256}  # the run's FP32 file, not the card's
        state = read_state_dict(weights)
    sd = {k: v.half().contiguous() if v.is_floating_point() else v for k, v in state.items()}
    with atomic_path(out, overwrite=True, inputs=[run_dir]) as tmp:  # never into the run: last.pt is its resume point
        save_file(sd, str(tmp))
    card = {"run": str(run_dir), "model": config["model"], "stage": config["stage"],
            "iteration": row.get("iteration"), "data": config["data"]["root"],
            "val_clips": config["data"]["val_clips"], "best_validation": row, "sha256": file_sha256(out)}
    with atomic_path(out.with_suffix(".json"), overwrite=True, inputs=[run_dir]) as tmp:
        Path(tmp).write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--last", action="store_true",
                    help="the last checkpoint's generator (its weight average), not best.safetensors")
    ap.add_argument("--iteration", type=int, default=None,
                    help="the generator validated at this iteration (validated/N.safetensors, keep_validated)")
    args = ap.parse_args(argv)
    try:
        card = write_candidate(args.run_dir, args.output, last=args.last, iteration=args.iteration)
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: {card['model']} stage {card['stage']} iteration {card['iteration']}")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "edgevsr.train.candidate")
