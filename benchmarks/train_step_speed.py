"""Iterations per second of the real training step on this CPU: FP32 vs bf16 autocast, channels_last,
torch.compile and thread counts, measured side by side in one run (every config's variants interleaved round by
round, so a busy machine slows them alike; ratios to FP32, and to the first row across configs, are the figures
to read).

    python benchmarks/train_step_speed.py --config edgevsr/configs/egvsr/campaign-stage1.yaml \
        --config edgevsr/configs/rrn/rrn-stage1.yaml --rounds 3 --steps 6 -o benchmarks/results/train_step_speed.json

The step is ``Trainer.step`` itself (sample, degrade, unroll, losses, backward, Adam), on the config's data,
window, crop and batch. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path, check_output
from edgevsr.train.config import load_config
from edgevsr.train.trainer import Trainer

VARIANTS = {  # name: (threads, bf16 autocast (config cpu_bf16), channels_last, compile)
    "fp32 2 threads": (2, False, False, False),
    "fp32 1 thread": (1, False, False, False),
    "bf16 autocast": (2, True, False, False),
    "channels_last": (2, False, True, False),
    "bf16 + channels_last": (2, True, True, False),
    "torch.compile": (2, False, False, True),
}


def _shared_samplers() -> None:
    """Every variant draws from one in-memory copy of the training clips (loading them is minutes, not the step)."""
    import edgevsr.train.trainer as T

    cache: dict = {}
    make = T.WindowSampler

    def sampler(*args):
        if args not in cache:
            cache[args] = make(*args)
        return cache[args]

    T.WindowSampler = sampler


def _trainer(config: Path, run_dir: Path, variant: tuple) -> Trainer:
    threads, _, channels_last, compiled = variant
    cfg = load_config(config, {"run_dir": str(run_dir), "threads": threads, "cpu_bf16": variant[1],
                               "channels_last": channels_last, "val_every": 10**9})
    tr = Trainer(cfg)
    if compiled:
        for name in ("srnet", "fnet", "blocks"):
            if hasattr(tr.model, name):
                setattr(tr.model, name, torch.compile(getattr(tr.model, name)))
    return tr


def _time(tr: Trainer, variant: tuple, steps: int) -> float:
    torch.set_num_threads(variant[0])
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.step()
    return steps / (time.perf_counter() - t0)


def positive_int(text: str) -> int:
    """--rounds, --steps: a median over no rounds, a speed over no steps, is no measurement."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, action="append", required=True)
    ap.add_argument("--rounds", type=positive_int, default=3)
    ap.add_argument("--steps", type=positive_int, default=4, help="timed steps per variant per round")
    ap.add_argument("--variant", action="append", choices=list(VARIANTS), help="default: all")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    names = args.variant or list(VARIANTS)
    for given in (args.config, names):  # one (config, variant) twice would share a trainer and pool its rounds
        twice = [x for x in given if given.count(x) > 1]
        if twice:
            ap.error(f"{twice[0]} given twice")
    if args.output:  # refused before minutes of measuring, not after
        check_output(args.output, inputs=args.config, overwrite=True)
    _shared_samplers()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        # every (config, variant) in every round, so that configs are compared side by side too
        keys = [(c, n) for c in args.config for n in names]
        trainers = {}
        for c, n in keys:
            trainers[c, n] = _trainer(c, Path(tmp) / f"{c.stem}-{len(trainers)}", VARIANTS[n])
            _time(trainers[c, n], VARIANTS[n], 1)  # warm-up (and compilation)
        speeds: dict[tuple, list[float]] = {k: [] for k in keys}
        for r in range(args.rounds):
            for c, n in keys:
                speeds[c, n].append(_time(trainers[c, n], VARIANTS[n], args.steps))
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        first = statistics.median(speeds[keys[0]])
        for c, n in keys:
            med, base = statistics.median(speeds[c, n]), statistics.median(speeds[c, names[0]])
            results.append({"config": str(c), "model": trainers[c, n].cfg.model, "variant": n,
                            "it_per_s": round(med, 4), "ratio": round(med / base, 3),
                            "ratio_to_first": round(med / first, 3), "runs": [round(x, 4) for x in speeds[c, n]]})
    print(f"{'config':<28} {'variant':<22} {'it/s':>7} {'x ' + names[0]:>18} {'x first row':>12}")
    for r in results:
        print(f"{Path(r['config']).stem[:28]:<28} {r['variant']:<22} {r['it_per_s']:>7.3f} {r['ratio']:>18.2f} "
              f"{r['ratio_to_first']:>12.2f}")
    if args.output:
        meta = {"torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "rounds": args.rounds,
                "steps": args.steps, "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        with atomic_path(args.output, inputs=args.config) as tmp:
            tmp.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


def _main() -> int:
    try:
        return main()
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(_main, "train_step_speed")
