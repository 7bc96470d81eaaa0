"""Every shipped weight file loads, carries a complete card, and reproduces its recorded output checksum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgevsr.models.ops import bicubic_upsample
from edgevsr.weights import load_model, shipped_weights

# Output statistics of each shipped file on fixed_input(), computed once when the file was shipped.
# (mean, std, mean |out - bicubic|) of the (1, 4, 3, 96, 128) output.
EXPECTED: dict[str, tuple[float, float, float]] = {
    "egvsr-stage1": (0.5014407634735107, 0.17801357805728912, 0.03139973059296608),
    "frvsr-stage1": (0.5020081996917725, 0.17782315611839294, 0.03158043324947357),
    "tecogan-stage1": (0.5020081996917725, 0.17782315611839294, 0.03158043324947357),  # the frvsr-stage1 tensors
    "tecogan-stage2": (0.5017967820167542, 0.17744167149066925, 0.03125594183802605),
    "egvsr-lite-stage1": (0.5019950866699219, 0.17807751893997192, 0.031587161123752594),
    "rrn-stage1": (0.5017086267471313, 0.17833183705806732, 0.03143395483493805),
    "rrn-lite-stage1": (0.5019433498382568, 0.1782654970884323, 0.03138895332813263),
    "egvsr-stage2": (0.5007801651954651, 0.1780538260936737, 0.03155198320746422),
    "egvsr-lite-stage2": (0.5015804171562195, 0.1775490641593933, 0.031301435083150864),
}


def fixed_input() -> torch.Tensor:
    """A smooth moving pattern (no RNG, so it is the same on every platform): (1, 4, 3, 24, 32) in [0, 1]."""
    y, x = np.mgrid[0:24, 0:32].astype(np.float32)
    frames = []
    for t in range(4):
        chans = [0.5 + 0.35 * np.sin(0.45 * (x - 0.7 * t) + k) * np.cos(0.3 * (y + 0.4 * t) - k) for k in range(3)]
        frames.append(np.stack(chans))
    return torch.from_numpy(np.stack(frames)[None])


def output_stats(name: str) -> tuple[float, float, float]:
    card = shipped_weights()[name]
    model, source = load_model(card.model, name)
    assert source == f"shipped:{name}"
    lr = fixed_input()
    with torch.no_grad():
        out = model.forward_sequence(lr)
    bic = bicubic_upsample(lr.flatten(0, 1), 4).unflatten(0, lr.shape[:2])
    return float(out.mean()), float(out.std()), float((out - bic).abs().mean())


def test_there_are_shipped_weights_and_one_default_per_model():
    cards = shipped_weights()
    assert "egvsr-stage1" in cards
    for model in {c.model for c in cards.values()}:
        assert sum(bool(c.info.get("default")) for c in cards.values() if c.model == model) == 1, model


@pytest.mark.parametrize("name", sorted(shipped_weights()))
def test_shipped_weights_checksum_and_card(name):
    card = shipped_weights()[name]
    for key in ("model", "stage", "iterations", "data", "validation", "config"):
        assert key in card.info, key
    v = card.info["validation"]
    assert {"psnr_y", "psnr_y_bicubic", "tof"} <= set(v)
    assert name in EXPECTED, f"record output_stats({name!r}) in EXPECTED"
    got = output_stats(name)
    assert got[2] > 1e-3  # a trained residual, not plain bicubic
    np.testing.assert_allclose(got, EXPECTED[name], rtol=2e-3, atol=2e-5)
