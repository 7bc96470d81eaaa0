"""Float pixels in [0, 1] to uint8: the one rounding (clip, x 255, + 0.5, truncate) every output path shares.

Backends, degradation and quantization measurements must round alike, or two paths that compute the
same image differ by one code value and comparisons between them read as errors.
"""

from __future__ import annotations

import numpy as np


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Any-layout float array in [0, 1] (values outside are clipped) -> uint8 of the same shape."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
