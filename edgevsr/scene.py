"""Scene-cut detection shared by the live runtime, `edgevsr upscale` and `edgevsr batch`.

One detector everywhere, so that a batch chunk starting at a cut begins from the same
fresh recurrent state a sequential run resets to there.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_THRESHOLD = 0.1


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """32-pixel-wide grey thumbnail in [0, 1]: what the scene-cut test compares (cheap at any size)."""
    if frame.dtype == np.uint16:  # deep video: the same 8-bit picture the detector sees everywhere else
        frame = (frame >> 8).astype(np.uint8)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    return cv2.resize(grey, (32, max(1, round(32 * h / w))), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def is_scene_cut(prev: np.ndarray | None, curr: np.ndarray, threshold: float) -> bool:
    """Mean absolute thumbnail difference above ``threshold``: a cut (fast pans in real clips stay below 0.07)."""
    return threshold > 0 and prev is not None and prev.shape == curr.shape and \
        float(np.abs(curr - prev).mean()) > threshold
