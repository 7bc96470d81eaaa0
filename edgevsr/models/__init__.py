"""Model registry: every architecture is built by name, so adding a model is one class plus one line."""

from __future__ import annotations

from collections.abc import Callable

from edgevsr.errors import EdgeVSRError
from edgevsr.models.base import VSRModel
from edgevsr.models.espcn import ESPCN
from edgevsr.models.frnet import EGVSR, FRVSR, Bicubic, BicubicBD, EGVSRLite
from edgevsr.models.rrn import RRN, RRNLite
from edgevsr.models.sofvsr import SOFVSR
from edgevsr.models.vespcn import VESPCN

ARCHITECTURES: dict[str, Callable[[], VSRModel]] = {
    "egvsr": EGVSR,
    "egvsr-lite": EGVSRLite,
    "frvsr": FRVSR,
    "tecogan": FRVSR,  # same generator; TecoGAN differs only in training
    "rrn": RRN,  # flow-free recurrent, edge-native (DLA, INT8)
    "rrn-lite": RRNLite,
    "bicubic": Bicubic,
    "bicubic-bd": BicubicBD,
    "vespcn": VESPCN,
    "espcn": ESPCN,
    "sofvsr": SOFVSR,
}


def build_model(name: str) -> VSRModel:
    """An untrained model of the named architecture, in eval mode."""
    try:
        factory = ARCHITECTURES[name]
    except KeyError:
        raise EdgeVSRError(f"unknown model {name!r}; choose one of: {', '.join(ARCHITECTURES)}") from None
    return factory().eval()


__all__ = ["ARCHITECTURES", "VSRModel", "build_model"]
