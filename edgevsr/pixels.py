"""Float pixels in [0, 1] to uint8: the one rounding (clip, x 255, + 0.5, truncate) every output path shares;
16-bit (deep) frames to uint8 for 8-bit outputs, rounded alike.

Backends, degradation and quantization measurements must round alike, or two paths that compute the
same image differ by one code value and comparisons between them read as errors.
"""

from __future__ import annotations

import numpy as np


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Any-layout float array in [0, 1] (values outside are clipped) -> uint8 of the same shape."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def as_uint8(frame: np.ndarray) -> np.ndarray:
    """An RGB frame for an 8-bit output: uint8 as it is; uint16 (full-scale 0..65535, the deep path's
    rgb48) rounded to the nearest 8-bit code (x / 257), never truncated by ``>> 8``, which shifts every
    picture down by up to one code value and turns a 10-bit gradient's rounding into banding."""
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype != np.uint16:
        raise TypeError(f"as_uint8: expected uint8 or uint16 samples, got {frame.dtype}")
    # 65535 = 255 x 257, so x / 257 is the exact 8-bit value and is never a tie (x + 128 // 257 rounds it)
    return ((frame.astype(np.uint32) + 128) // 257).astype(np.uint8)
