"""OpenCV backend: cv2.resize bicubic on uint8 frames, the no-model baseline users get from OpenCV/ffmpeg."""

from __future__ import annotations

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.models.spec import ModelSpec

BASELINE = "opencv-bicubic"


class OpenCVBicubicRunner(Runner):
    """cv2.resize INTER_CUBIC on uint8 frames: the baseline with no model at all."""

    name = "opencv"

    def __init__(self) -> None:
        super().__init__(ModelSpec(BASELINE, "single", 4, 1, 1, ("lr",), ("hr",)), "fp32")

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int) -> np.ndarray:
        return frame

    def infer_impl(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        h, w = frame.shape[:2]
        return cv2.resize(frame, (w * 4, h * 4), interpolation=cv2.INTER_CUBIC)

    def finish(self, out: np.ndarray, height: int, width: int) -> np.ndarray:
        return out[:height, :width]

    def describe(self) -> str:
        return "opencv cv2.resize INTER_CUBIC"
