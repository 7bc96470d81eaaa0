"""The training half of benchmarks/gpu/train_sprint.sh: train from a config, write the FP16 generator + validation.

    python3 benchmarks/gpu/sprint_train.py CONFIG OUT_DIR

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


def main(config: str, out: str) -> int:
    cfg = load_config(config)
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
          f"best validation: " + json.dumps({k: round(v, 4) for k, v in best.items() if "@" not in k}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except EdgeVSRError as exc:
        sys.exit(f"error: {exc}")
