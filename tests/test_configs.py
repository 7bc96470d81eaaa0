"""Every training config is reachable: a shipped card names it, or a doc does; every card names real configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgevsr.catalog import CARDS

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "edgevsr" / "configs"
NAMED = re.compile(r"configs/([\w.-]+/[\w.-]+\.yaml)")  # edgevsr/configs/<model>/<weights-name>.yaml


def named_in(paths: list[Path]) -> set[str]:
    return {m for p in paths for m in NAMED.findall(p.read_text())}


def test_configs_live_in_one_folder_per_model():
    stray = [p.relative_to(CONFIGS) for p in CONFIGS.glob("*.yaml")]
    assert not stray, f"configs belong in edgevsr/configs/<model>/<weights-name>.yaml: {stray}"


@pytest.mark.parametrize("card", sorted(CARDS.glob("*.json")), ids=lambda p: p.stem)
def test_every_card_names_configs_that_exist(card):
    names = named_in([card])
    assert names, f"{card.name} names no config (edgevsr/configs/<model>/<name>.yaml)"
    missing = sorted(n for n in names if not (CONFIGS / n).is_file())
    assert not missing, f"{card.name} names configs that do not exist: {missing}"


def test_every_config_is_named_by_a_card_or_a_doc():
    named = named_in([*CARDS.glob("*.json"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"])
    orphans = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*.yaml") if str(p.relative_to(CONFIGS))
                     not in named)
    assert not orphans, f"configs no card or doc names (name them, or delete them: history keeps them): {orphans}"
