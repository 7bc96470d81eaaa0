"""The model zoo as data (kind, parameters, cost) and the shipped weight cards, without importing torch.

`edgevsr models` and `edgevsr --help` answer at once from here; building every network to count its
parameters took about 20 s. ``tests/test_catalog.py`` checks every row against the built model, so a
new architecture in :data:`edgevsr.models.ARCHITECTURES` needs its row here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CARDS = Path(__file__).parent / "weights" / "files"


@dataclass(frozen=True)
class ModelInfo:
    kind: str  # recurrent | windowed | single
    params: int
    macs_per_lr_pixel: float

    def gmac(self, width: int = 480, height: int = 270) -> float:
        return self.macs_per_lr_pixel * width * height / 1e9


MODELS: dict[str, ModelInfo] = {
    "egvsr": ModelInfo("recurrent", 2513617, 895104.0),
    "egvsr-lite": ModelInfo("recurrent", 667302, 262944.0),
    "frvsr": ModelInfo("recurrent", 3032229, 1547712.0),
    "tecogan": ModelInfo("recurrent", 3032229, 1547712.0),
    "bicubic": ModelInfo("single", 0, 0.0),
    "bicubic-bd": ModelInfo("single", 0, 0.0),
    "vespcn": ModelInfo("windowed", 878787, 904213.078125),
    "espcn": ModelInfo("single", 30738, 29760.0),
    "sofvsr": ModelInfo("windowed", 1639676, 1962874.0),
    "rrn": ModelInfo("recurrent", 505648, 504720.0),
    "rrn-lite": ModelInfo("recurrent", 255648, 255024.0),
}


def shipped_cards() -> dict[str, dict]:
    """Shipped weight cards by weights name (only those whose .safetensors is present), as JSON dicts."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(CARDS.glob("*.json"))
            if p.with_suffix(".safetensors").exists()}
