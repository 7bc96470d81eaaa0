"""The training half of benchmarks/gpu/train_sprint.sh: train from a config, write the FP16 generator + validation.

    python3 benchmarks/gpu/sprint_train.py CONFIG OUT_DIR [--minutes M] [--work DIR] [--init-from CFG] [--rehearse]

``--minutes`` replaces the config's time limit (run_all.sh gives the sprint what its 9 minutes leave);
``--work`` moves the config's /tmp paths (run dir, data, init) under DIR; ``--init-from CFG`` starts from the
best file of the run CFG describes (its run dir, moved by ``--work`` the same way: stage 0's FNet, when the sprint
runs it); ``--rehearse`` trains 2 iterations of a tiny window on the CPU (run_all.sh's CPU rehearsal: the same
path in seconds). A relative ``init`` (the campaign's candidate, tracked in the tree) is read from the checkout.

A stage-0 config (FNet alone vs the flow teacher) writes only ``OUT_DIR/stage0-{val.csv,val.png,train.csv}``:
its best file is the next config's ``init`` (``--init-from``). Otherwise it writes
``OUT_DIR/<model>-sprint.safetensors`` (best checkpoint by validation PSNR-Y, FP16: the weight average with
``ema_decay``) and its JSON card (config, iterations, init path and SHA-256 as hashed when training started, which
weights, whether any checkpoint beat the init, GPU, throughput, the best validation row), plus ``val.csv``,
``val.png`` and ``train.csv`` of the run. Evaluate and ship it on the development machine (docs/training.md, GPU
sprint).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a bare checkout

import torch  # noqa: E402

from edgevsr.errors import EdgeVSRError  # noqa: E402
from edgevsr.models import build_model  # noqa: E402
from edgevsr.train.config import load_config  # noqa: E402
from edgevsr.train.trainer import Trainer  # noqa: E402
from edgevsr.weights import load_into, read_state_dict, save_weights  # noqa: E402


class _Print:
    def print(self, text: str, **_kw) -> None:
        print(text, flush=True)


REHEARSAL = {"device": "cpu", "threads": 1, "amp": False, "iterations": 2, "val_every": 2, "log_every": 1,
             "warmup": 0, "flow_teacher_preset": "ultrafast", "data.window": 4, "data.crop": 32, "data.batch": 1,
             "data.val_frames": 4, "data.curriculum": []}


def _moved(value, work: str | None):
    """A config's /tmp path under ``work`` (unchanged without ``work`` or when it is not under /tmp)."""
    if work and isinstance(value, str) and value.startswith("/tmp/"):
        return str(Path(work) / value[len("/tmp/"):])
    return value


def overrides(config: str, minutes: float | None, work: str | None, rehearse: bool,
              init_from: str | None = None) -> dict:
    """Dotted-key overrides of the sprint config for this run (see the module docstring)."""
    import yaml

    raw = yaml.safe_load(Path(config).read_text()) or {}
    out: dict = {}
    if minutes is not None:
        out["time_limit_minutes"] = round(max(0.05, minutes), 2)
    for key, value in (("run_dir", raw.get("run_dir")), ("init", raw.get("init")),
                       ("data.root", (raw.get("data") or {}).get("root"))):
        moved = _moved(value, work)
        if moved != value:
            out[key] = moved
    if init_from:
        before = yaml.safe_load(Path(init_from).read_text()) or {}
        out["init"] = str(Path(_moved(before["run_dir"], work)) / "best.safetensors")
    init = out.get("init", raw.get("init"))
    if isinstance(init, str) and init and not Path(init).is_absolute() and not Path(init).exists() \
            and (ROOT / init).is_file():  # a file of the checkout, run from elsewhere
        out["init"] = str(ROOT / init)
    if rehearse:
        out.update(REHEARSAL)
        val = (raw.get("data") or {}).get("val_clips")
        root = Path(out.get("data.root") or raw["data"]["root"])
        try:  # the tiny set's own validation clip(s)
            index = json.loads((root / "index.json").read_text())
            out["data.val_clips"] = [c["name"] for c in index["clips"] if c["split"] == "val"] or val
        except (OSError, ValueError, KeyError):
            pass
    return out


def main(config: str, out: str, minutes: float | None = None, work: str | None = None,
         rehearse: bool = False, init_from: str | None = None) -> int:
    cfg = load_config(config, overrides(config, minutes, work, rehearse, init_from))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available() and cfg.device != "cpu":  # a device: cpu config is the pipeline's own test
        print("sprint_train: no CUDA GPU visible to torch; nothing trained")
        return 0
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    trainer = Trainer(cfg, console=_Print(), overwrite=True)  # its run folder is scratch
    best = trainer.fit()
    seconds = time.perf_counter() - t0
    run = Path(cfg.run_dir)
    if cfg.stage == 0:
        for name in ("val.csv", "val.png", "train.csv"):
            if (run / name).is_file():
                shutil.copy(run / name, out_dir / f"stage0-{name}")
        print(f"stage 0: {trainer.iteration} iterations in {seconds:.0f} s; best flow EPE "
              f"{best.get('flow_epe', float('nan')):.3f} LR px at iteration {best.get('iteration')}")
        return 0
    model = build_model(cfg.model)
    load_into(model, read_state_dict(run / "best.safetensors"), str(run / "best.safetensors"))
    init_sha = json.loads((run / "start.json").read_text())["init_sha256"]  # hashed as training started
    init = _relative(cfg.init)
    improved = int(best["iteration"]) > 0 or not cfg.init  # a started-from-weights run validates them at 0
    info = {"model": cfg.model, "stage": cfg.stage, "default": False, "iterations": int(best["iteration"]),
            "iterations_run": trainer.iteration, "seconds": round(seconds, 1),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none (cpu)",
            "torch": torch.__version__, "init": init, "init_sha256": init_sha,
            "weights": best.get("weights", "raw"), "improved_on_init": improved,
            "validation": best, "config": cfg.to_dict(), "storage": "float16",
            "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    path = out_dir / f"{cfg.model}-sprint.safetensors"
    save_weights(model, path, info)
    for name in ("val.csv", "val.png", "train.csv"):
        if (run / name).is_file():
            shutil.copy(run / name, out_dir / name)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB), {trainer.iteration} iterations in {seconds:.0f} s; "
          f"best validation: " + json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                                for k, v in best.items() if "@" not in k}))
    if not improved:
        print(f"no checkpoint beat the init ({init}) on mean validation PSNR-Y: the file holds the init's weights")
    return 0


def _relative(path: str) -> str | None:
    """``path`` relative to the checkout when it is inside it (the card names the candidate as the tree does)."""
    if not path:
        return None
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path


def cli(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(usage=__doc__.strip().splitlines()[2].strip())
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--work", default=None)
    ap.add_argument("--init-from", default=None, help="a config whose run's best.safetensors is the init")
    ap.add_argument("--rehearse", action="store_true")
    a = ap.parse_args(argv)
    return main(a.config, a.out, a.minutes, a.work, a.rehearse, a.init_from)


if __name__ == "__main__":
    try:
        sys.exit(cli(sys.argv[1:]))
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
