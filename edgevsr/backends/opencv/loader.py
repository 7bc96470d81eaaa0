"""The opencv backend needs nothing to load: cv2.resize bicubic is the whole model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgevsr.errors import EdgeVSRError

from .runner import BASELINE, OpenCVBicubicRunner

if TYPE_CHECKING:
    from edgevsr.backends.registry import RunnerConfig


def load(cfg: RunnerConfig) -> tuple[OpenCVBicubicRunner, str]:
    """The registry's loader; a model other than opencv-bicubic or a precision other than fp32 is refused."""
    if cfg.model not in (None, BASELINE) or cfg.precision not in (None, "fp32"):
        asked = f"--model {cfg.model}" if cfg.model not in (None, BASELINE) else f"--precision {cfg.precision}"
        raise EdgeVSRError(f"--backend opencv runs {BASELINE} (cv2.resize, FP32 math on uint8 frames), not {asked}")
    return OpenCVBicubicRunner(), "cv2.resize INTER_CUBIC (no weights)"
