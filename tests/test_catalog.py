"""The torch-free model catalog agrees with the built models and the weight cards."""

from __future__ import annotations

import pytest

from edgevsr.catalog import MODELS, shipped_cards
from edgevsr.models import ARCHITECTURES, build_model
from edgevsr.weights import shipped_weights


def test_every_architecture_has_a_catalog_row():
    assert set(MODELS) == set(ARCHITECTURES), "add the new model's row to edgevsr/catalog.py (MODELS)"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_catalog_row_matches_the_built_model(name):
    m, info = build_model(name), MODELS[name]
    assert (m.kind, sum(p.numel() for p in m.parameters())) == (info.kind, info.params)
    assert m.macs_per_lr_pixel() == pytest.approx(info.macs_per_lr_pixel, rel=1e-9)


def test_cards_are_the_shipped_weights():
    assert {n: c["model"] for n, c in shipped_cards().items()} == {n: c.model for n, c in shipped_weights().items()}
