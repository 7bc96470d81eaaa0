"""Why stage 0 looks the way it does: FNet regressed onto the DIS teacher, with and without its three aids.

Each variant trains a fresh egvsr-lite FNet (Kaiming init, ``fresh_fnet``, same seed) on draws
of the training split (stage 0's are larger crops, cut) and prints the training endpoint error next to zero flow's
(the plateau every collapsed FNet sat on), every ``--every`` iterations:

- ``plain``: the stage-1 recipe's teacher term alone (Charbonnier EPE, no BatchNorm, neighbouring frames);
- ``bn``: + training-time BatchNorm (training error only: nothing is folded or saved here);
- ``stage0``: + L2 endpoint error, frame gaps 1..3 and shifted cuts (what ``stage: 0`` trains).

    python benchmarks/flow_pretrain_ablation.py --data data/train-v3 --iterations 1500 \
        -o benchmarks/results/flow_pretrain_ablation.json

Prints a table; writes JSON (and a PNG beside it). Ratios, not wall-clock: all variants run in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgevsr.data import WindowSampler  # noqa: E402
from edgevsr.models import build_model  # noqa: E402
from edgevsr.train.flow_pretrain import add_batchnorm, endpoint_error, flow_step, lr_pairs  # noqa: E402
from edgevsr.train.flow_teacher import fresh_fnet, teacher_flows, teacher_loss  # noqa: E402

VARIANTS = ("plain", "bn", "stage0")


def plain_step(fnet, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    teacher, valid = teacher_flows(hr, 4)
    flow = fnet(*lr_pairs(hr, "BD"))
    loss = teacher_loss(flow[:, None], teacher[:, 1:], valid[:, 1:])
    target, mask = teacher[:, 1], valid[:, 1]
    return loss, {"epe": float(endpoint_error(flow.detach(), target, mask)),
                  "epe_zero": float(endpoint_error(torch.zeros_like(target), target, mask))}


def run(variant: str, data: Path, iterations: int, batch: int, crop: int, every: int, seed: int) -> list[dict]:
    torch.manual_seed(seed)
    model = build_model("egvsr-lite")
    fresh_fnet(model)
    fnet = model.fnet.train()
    if variant != "plain":
        add_batchnorm(fnet)
    margin = 8 if variant == "stage0" else 0
    sampler = WindowSampler(data, "train", 4, crop + 2 * margin, seed)
    opt = torch.optim.Adam(fnet.parameters(), lr=1e-3)
    rows, acc = [], []
    for it in range(1, iterations + 1):
        gap = int(torch.randint(1, 4, ())) if variant == "stage0" else 1
        hr = sampler.sample(batch)[:, [0, gap]]
        if variant == "stage0":
            loss, stats = flow_step(fnet, hr, "BD", 4, margin, "medium", torch.get_num_threads())
        else:
            loss, stats = plain_step(fnet, hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc.append(stats)
        if it % every == 0:
            epe = sum(s["epe"] for s in acc) / len(acc)
            zero = sum(s["epe_zero"] for s in acc) / len(acc)
            rows.append({"iteration": it, "epe": round(epe, 4), "epe_zero": round(zero, 4),
                         "ratio": round(epe / zero, 3) if zero else None})
            print(f"{variant:>7} it {it:5d}  EPE {epe:.3f}  zero flow {zero:.3f}", flush=True)
            acc = []
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data/train-v3"))
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("-o", "--output", type=Path, default=Path("benchmarks/results/flow_pretrain_ablation.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results, t0 = {}, time.time()
    for v in args.variants:
        results[v] = run(v, args.data, args.iterations, args.batch, args.crop, args.every, args.seed)
    print(f"\n{'iteration':>9} " + " ".join(f"{v + ' EPE/zero':>16}" for v in results))
    for i, row in enumerate(next(iter(results.values()))):
        print(f"{row['iteration']:>9} " + " ".join(f"{results[v][i]['ratio'] or float('nan'):>16.3f}"
                                                  for v in results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"command": " ".join(sys.argv), "seconds": round(time.time() - t0),
                                       "batch": args.batch, "crop": args.crop, "results": results}, indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for v, rows in results.items():
        ax.plot([r["iteration"] for r in rows], [r["ratio"] for r in rows], "o-", label=v)
    ax.axhline(1.0, color="grey", ls=":", label="zero flow")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training EPE / zero-flow EPE")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=110)
    print(f"wrote {args.output} and {args.output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
