"""The largest input edgevsr accepts, checked from headers before any frame is decoded or allocated.

An x4 model's peak memory grows with the input's pixel count (a 20000x20000 PNG asked the recurrent model
for ~77 GB). The default, 3840x2160 input pixels, keeps the shipped models' CPU peak within a 32 GB
machine; set ``EDGEVSR_MAX_INPUT`` to ``WIDTHxHEIGHT`` (or a pixel count) to allow more or less.
"""

from __future__ import annotations

import os

from edgevsr.errors import EdgeVSRError

DEFAULT_MAX_PIXELS = 3840 * 2160
MAX_SIDE = 16384  # also a video encoder limit (H.264 level 6.2: 8192; x265/VP9 handle 16384)
ENV = "EDGEVSR_MAX_INPUT"


def max_pixels() -> int:
    text = os.environ.get(ENV, "").strip().lower()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        if "x" in text:
            w, h = text.split("x", 1)
            value = int(w) * int(h)
        else:
            value = int(text)
    except ValueError:
        raise EdgeVSRError(f"${ENV}={text!r}: expected WIDTHxHEIGHT or a pixel count") from None
    if value <= 0:
        raise EdgeVSRError(f"${ENV}={text!r}: must be positive")
    return value


def check_input_size(width: int, height: int, what: str) -> None:
    """Refuse a frame size that is not positive or exceeds the configured maximum, naming ``what``."""
    if width <= 0 or height <= 0:
        raise EdgeVSRError(f"{what}: frame size {width}x{height} must be positive")
    limit = max_pixels()
    if width * height > limit or max(width, height) > MAX_SIDE:
        raise EdgeVSRError(f"{what}: {width}x{height} input is larger than the maximum of {limit} pixels "
                           f"(sides up to {MAX_SIDE}); downscale it, or raise ${ENV} (e.g. {ENV}=7680x4320) "
                           "if the machine has the memory")
