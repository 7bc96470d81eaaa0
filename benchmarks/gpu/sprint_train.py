"""The training half of benchmarks/gpu/train_sprint.sh: train from a config, write the FP16 generator + validation.

    python3 benchmarks/gpu/sprint_train.py CONFIG OUT_DIR [--minutes M] [--work DIR] [--rehearse]

``--minutes`` replaces the config's time limit (run_all.sh gives the sprint what its 9 minutes leave);
``--work`` moves the config's /tmp paths (run dir, data, init) under DIR; ``--rehearse`` trains 2 iterations
of a tiny window on the CPU (run_all.sh's CPU rehearsal: the same path in seconds).

A stage-0 config (FNet alone vs the flow teacher) writes only ``OUT_DIR/stage0-{val.csv,val.png,train.csv}``:
its best file is the next config's ``init``. Otherwise it
writes ``OUT_DIR/<model>-sprint.safetensors`` (best checkpoint by validation PSNR-Y, FP16) and its JSON card
(config, iterations, init SHA-256, GPU, throughput, the best validation row), plus ``val.csv``, ``val.png`` and
``train.csv`` of the run. Evaluate and ship it on the development machine (docs/training.md, GPU sprint).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

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


def overrides(config: str, minutes: float | None, work: str | None, rehearse: bool) -> dict:
    """Dotted-key overrides of the sprint config for this run (see the module docstring)."""
    import yaml

    raw = yaml.safe_load(Path(config).read_text()) or {}
    out: dict = {}
    if minutes is not None:
        out["time_limit_minutes"] = round(max(0.05, minutes), 2)
    if work:
        for key, value in (("run_dir", raw.get("run_dir")), ("init", raw.get("init")),
                           ("data.root", (raw.get("data") or {}).get("root"))):
            if isinstance(value, str) and value.startswith("/tmp/"):
                out[key] = str(Path(work) / value[len("/tmp/"):])
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
         rehearse: bool = False) -> int:
    cfg = load_config(config, overrides(config, minutes, work, rehearse))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available() and cfg.device != "cpu":  # a device: cpu config is the pipeline's own test
        print("sprint_train: no CUDA GPU visible to torch; nothing trained")
        return 0
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    trainer = Trainer(cfg, console=_Print())
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
    init = Path(cfg.init) if cfg.init else None
    info = {"model": cfg.model, "stage": cfg.stage, "default": False, "iterations": int(best["iteration"]),
            "iterations_run": trainer.iteration, "seconds": round(seconds, 1),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none (cpu)",
            "torch": torch.__version__,
            "init_sha256": hashlib.sha256(init.read_bytes()).hexdigest() if init and init.is_file() else None,
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
    return 0


def cli(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(usage=__doc__.strip().splitlines()[2].strip())
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--work", default=None)
    ap.add_argument("--rehearse", action="store_true")
    a = ap.parse_args(argv)
    return main(a.config, a.out, a.minutes, a.work, a.rehearse)


if __name__ == "__main__":
    try:
        sys.exit(cli(sys.argv[1:]))
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
