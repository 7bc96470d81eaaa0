"""Numeric arguments checked in one place per kind, for the CLI and the Python API alike.

Every check names the option as the user wrote it (``--workers``) and says what is allowed, in one line
(:class:`~edgevsr.errors.EdgeVSRError`, exit 2), before any model loads or any file is touched: a value out
of range must never crash deep inside (an IndexError from ``--workers -2``) nor pass silently (``nan``).
"""

from __future__ import annotations

import math

from edgevsr.errors import EdgeVSRError


def _number(value: object, flag: str) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EdgeVSRError(f"{flag} {value!r}: expected a number") from None
    if not math.isfinite(x):
        raise EdgeVSRError(f"{flag} {value}: must be a finite number")
    return x


def _integer(value: object, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        x = _number(value, flag)
        if x != int(x):
            raise EdgeVSRError(f"{flag} {value}: must be a whole number")
        return int(x)
    return value


def count(value: object, flag: str, minimum: int = 1) -> int:
    """A whole number of frames, runs, workers ... at least ``minimum``."""
    n = _integer(value, flag)
    if n < minimum:
        raise EdgeVSRError(f"{flag} {value}: must be at least {minimum}")
    return n


def optional_count(value: object | None, flag: str, minimum: int = 1) -> int | None:
    return None if value is None else count(value, flag, minimum)


def positive(value: object, flag: str) -> float:
    """A duration, rate or share that must be above zero (seconds, fps, CPUs per worker)."""
    x = _number(value, flag)
    if x <= 0:
        raise EdgeVSRError(f"{flag} {value}: must be greater than 0")
    return x


def in_range(value: object, flag: str, lo: float, hi: float, what: str = "") -> float:
    x = _number(value, flag)
    if not lo <= x <= hi:
        raise EdgeVSRError(f"{flag} {value}: must be in {lo:g}..{hi:g}{f' ({what})' if what else ''}")
    return x


def scene_cut(value: object, flag: str = "--scene-cut") -> float:
    """The scene-cut threshold: a mean thumbnail difference in 0..1 (0 turns detection off)."""
    return in_range(value, flag, 0.0, 1.0, "mean grey difference of thumbnails; 0: off")


def crf(value: object, flag: str = "--crf", lo: int = 0, hi: int = 51) -> int:
    """Encoder quality: H.264/H.265 0..51 (VP9 0..63); lower is better."""
    n = _integer(value, flag)
    if not lo <= n <= hi:
        raise EdgeVSRError(f"{flag} {value}: quality must be in {lo}..{hi} (lower is better)")
    return n
