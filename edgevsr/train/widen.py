"""Widen a trained FNet to a wider model's FNet without changing what it computes (Net2WiderNet).

egvsr-lite's FNet is EGVSR's at half width (base 16 vs 32). Stage 0 taught the lite FNet to track motion in
~25 CPU minutes; the full-width FNet, trained the same way, stayed on the zero-flow plateau for 3,250
iterations (docs/training.md). FNet is a plain chain of convs, LeakyReLUs, max-pools and bilinear resizes, all
per channel, so copying every channel (new channel ``o`` is old channel ``o mod O``) and dividing each copied
input by its number of copies gives the wider FNet exactly the narrow one's flow. A little noise then lets the
copies drift apart when training goes on.

    python -m edgevsr.train.widen NARROW.safetensors DONOR.safetensors -o OUT.safetensors

writes DONOR's tensors (e.g. the egvsr SRNet) with ``fnet.*`` replaced by NARROW's FNet, widened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from edgevsr.errors import EdgeVSRError


def widen_tensor(small: torch.Tensor, shape: tuple[int, ...], noise: float, gen: torch.Generator) -> torch.Tensor:
    """A conv weight (out, in, kh, kw) or bias (out,) tiled to ``shape``; inputs scaled by 1 / copies.

    ``noise`` x the widened tensor's std is added to weights (not biases) so the copies can drift apart."""
    if small.dim() != len(shape) or small.shape[2:] != torch.Size(shape[2:]) or any(
            b % s for s, b in zip(small.shape[:2], shape[:2], strict=False)):
        raise EdgeVSRError(f"cannot widen {tuple(small.shape)} to {shape}: channels must be whole multiples")
    reps = [b // s for s, b in zip(small.shape[:2], shape[:2], strict=False)]
    big = small.repeat(*reps, *([1] * (small.dim() - len(reps))))
    if small.dim() > 1:
        big = big / reps[1]
        if noise:
            big = big + noise * big.std() * torch.randn(big.shape, generator=gen, dtype=big.dtype)
    return big


def widen_fnet(narrow: dict[str, torch.Tensor], wide: dict[str, torch.Tensor], noise: float = 0.01,
               seed: int = 0, source: str = "narrow weights") -> dict[str, torch.Tensor]:
    """``wide`` with every ``fnet.*`` tensor replaced by ``narrow``'s, widened to ``wide``'s shape, in FP32.

    FP32 whatever the donor's storage (shipped files are FP16): the widened FNet is then exactly the narrow
    one's, and the trainer casts on load anyway."""
    keys = [k for k in wide if k.startswith("fnet.")]
    missing = [k for k in keys if k not in narrow]
    if not keys or missing:
        raise EdgeVSRError(f"{source}: FNet tensors missing: {', '.join(missing[:3]) or 'all'}")
    if all(tuple(narrow[k].shape) == tuple(wide[k].shape) for k in keys):
        raise EdgeVSRError(f"{source}: its FNet already has the wide model's width; nothing to widen")
    gen = torch.Generator().manual_seed(seed)
    out = dict(wide)
    for k in keys:
        try:
            out[k] = widen_tensor(narrow[k].float(), tuple(wide[k].shape), noise, gen)
        except EdgeVSRError as exc:
            raise EdgeVSRError(f"{source}: {k}: {exc}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    from safetensors.torch import save_file

    from edgevsr.io.atomic import atomic_path, check_output
    from edgevsr.weights import read_state_dict

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("narrow", help="weights whose FNet is widened (e.g. the egvsr-lite stage-0 best)")
    p.add_argument("donor", help="weights of the wider model; everything but fnet.* is kept (e.g. egvsr-stage1)")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--noise", type=float, default=0.01,
                   help="x each widened weight tensor's std, breaks the copies' tie")
    a = p.parse_args(argv)
    try:
        check_output(a.output, inputs=(a.narrow, a.donor))
        sd = widen_fnet(read_state_dict(a.narrow), read_state_dict(a.donor), a.noise, source=a.narrow)
        with atomic_path(Path(a.output), inputs=(a.narrow, a.donor)) as tmp:
            save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp))
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.output}: fnet.* widened from {a.narrow}, the rest from {a.donor}")
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "edgevsr.train.widen")
