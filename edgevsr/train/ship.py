"""Turn a run's best generator into shipped weights: FP16 safetensors + a JSON card with measured metrics.

The metrics on the card are measured here, on the FP16-rounded weights that
ship, over the first ``frames`` (100) frames of the held-out validation and test clips of the
run's dataset (BD x4, TecoGAN metric definitions), next to bicubic.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import yaml

from edgevsr.data import read_index
from edgevsr.errors import EdgeVSRError
from edgevsr.models import ARCHITECTURES, build_model
from edgevsr.train.config import TrainConfig, _build
from edgevsr.train.validate import evaluate, load_val_clips, make_scorer
from edgevsr.weights import FILES, file_sha256, load_into, read_state_dict, save_weights


def round_to_fp16(model: torch.nn.Module) -> None:
    """Round every float tensor through FP16 in place: the network exactly as its shipped FP16 file loads."""
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.copy_(p.half().float())


def measure(model, root: Path, clips: list[str], frames: int, degradation: str) -> dict:
    vc = load_val_clips(root, clips, frames, degradation)
    res = evaluate(model, vc, torch.device("cpu"), make_scorer())
    res = {k: round(v, 4) for k, v in res.items()}
    return {"clips": clips, "frames": [int(c.hr.shape[0]) for c in vc], "degradation": degradation, **res}


def last_checkpoint(run_dir: Path) -> tuple[dict, int, bool]:
    """The generator, iteration and whether it is the weight average, of ``run_dir/last.pt`` (loaded with
    ``weights_only``): a run with ``ema_decay`` validates and selects its average, so that is its model."""
    from edgevsr.train.trainer import read_checkpoint

    path = run_dir / "last.pt"
    if not path.is_file():
        raise EdgeVSRError(f"{path}: no checkpoint to ship")
    state = read_checkpoint(path)
    if "ema" in state:
        return state["ema"], int(state["iteration"]), True
    return state["model"], int(state["iteration"]), False


def ship(run_dir: Path, name: str, default: bool = False, output: Path | None = None,
         frames: int = 100, last: bool = False, as_model: str | None = None, iteration: int | None = None) -> Path:
    """``last``: ship the run's last checkpoint instead of its best (when a comparison on every held-out
    clip, not the run's own selection rule, chose it); the card says so. ``iteration``: ship the generator
    validated at that iteration (``validated/N.safetensors`` of a ``keep_validated`` run), chosen the same way.
    ``as_model``: ship for another zoo name of the same generator (TecoGAN's stage 1 is FRVSR training:
    ``--as-model tecogan``)."""
    from edgevsr.train.hours import VALIDATED, chosen_file, read_mapping

    run_dir = Path(run_dir)
    weights, record = chosen_file(run_dir, last, iteration)
    cfg_path = run_dir / "config.yaml"
    cfg: TrainConfig = _build(TrainConfig, read_mapping(cfg_path, yaml.safe_load, "a mapping (damaged or not the "
                                                        "run's file?)"), str(cfg_path))
    if cfg.stage == 0:
        raise EdgeVSRError(f"{run_dir}: a stage-0 run trains FNet alone; its best.safetensors is a starting point "
                           "for stage 1 (init:), not weights to ship")
    shipped_as = as_model or cfg.model
    same = [k for k, v in ARCHITECTURES.items() if v is ARCHITECTURES[cfg.model]]
    if shipped_as not in same:
        raise EdgeVSRError(f"{run_dir}: trained {cfg.model}; {shipped_as!r} is not the same generator "
                           f"(same architecture: {', '.join(same)})")
    model = build_model(cfg.model)
    if last:
        state, iteration, averaged = last_checkpoint(run_dir)
        load_into(model, state, str(run_dir / "last.pt"))
        selected = f"the run's last checkpoint (iteration {iteration}), not its best by the run's own rule"
        if averaged:
            selected += " (its EMA-averaged weights)"
    elif iteration is not None:
        load_into(model, read_state_dict(weights), str(weights))
        selected = (f"the generator validated at iteration {iteration} ({VALIDATED}/{weights.name}), not the run's "
                    "best by its own rule")
        # the config may have turned the average on or off at a resume since N: ask N's own row
        if record.get("raw_psnr_y") not in (None, "") or (cfg.ema_decay and not cfg.ema_validate_raw):
            selected += " (its EMA-averaged weights)"
    else:
        iteration = record["iteration"]
        load_into(model, read_state_dict(weights), str(weights))
        selected = "the run's best checkpoint by its validation rule"
        if record.get("weights") == "ema":
            selected += " (its EMA-averaged weights)"
    round_to_fp16(model)
    # hashed when the run started (runs before 2026-12-02 have no start.json: the files are hashed now)
    start = read_mapping(run_dir / "start.json") if (run_dir / "start.json").is_file() else {}
    root = Path(cfg.data.root)
    index = read_index(root)
    val = [c["name"] for c in index["clips"] if c["split"] == "val"]
    test = [c["name"] for c in index["clips"] if c["split"] == "test"]
    torch.set_num_threads(cfg.threads)
    info = {
        "model": shipped_as,
        **({"trained_as": cfg.model} if shipped_as != cfg.model else {}),
        "stage": cfg.stage,
        "default": default,
        "iterations": iteration,
        "selected": selected,
        "data": {"index": str(root / "index.json"),
                 "train_clips": [f"{c['name']} ({c['kind']}, {c['frames']} frames)" for c in index["clips"]
                                 if c["split"] == "train"],
                 "val_clips": val, "test_clips": test, "build_options": index.get("options", {})},
        "validation": measure(model, root, val, frames, cfg.data.degradation),
        "test": measure(model, root, test, frames, cfg.data.degradation) if test else None,
        "config": cfg.to_dict(),
        "init_sha256": start["init_sha256"] if "init_sha256" in start else file_sha256(cfg.init),
        **({"warm_start_sha256": start["warm_start_sha256"] if "warm_start_sha256" in start
            else file_sha256(cfg.warm_start)} if cfg.warm_start else {}),
        **({"bound_weights_sha256": start.get("bound_weights_sha256") or file_sha256(cfg.gan.bound_weights)}
           if cfg.gan.bound_weights else {}),
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "storage": "float16",
    }
    out_dir = Path(output) if output else FILES
    out_dir.mkdir(parents=True, exist_ok=True)
    if default:
        clear_default(out_dir, name, shipped_as)
    path = out_dir / f"{name}.safetensors"
    save_weights(model, path, info)
    return path


def clear_default(out_dir: Path, name: str, model: str) -> None:
    """One default per model: every other card of ``model`` in ``out_dir`` loses ``default``, each rewritten whole
    through a temp (in place, a kill mid-write left a shipped card cut short, and its weights unloadable)."""
    from edgevsr.io.atomic import atomic_path

    for card in out_dir.glob("*.json"):
        other = json.loads(card.read_text())
        if card.stem != name and other.get("model") == model and other.get("default"):
            other["default"] = False
            with atomic_path(card) as tmp:
                tmp.write_text(json.dumps(other, indent=2))
