"""One size type and one parser: every command and API function spells sizes WIDTHxHEIGHT (video convention).

Arrays are (height, width) and stay so inside the numerical code; a :class:`Size` is what users
write and read (``480x272``), and :attr:`Size.hw` is the one conversion to array order.
``edgevsr quantize`` spelled sizes HxW until 0.1 (``--shape``, ``--calib-shape``, ``--speed-shape``);
:func:`parse_legacy_hw` reads those old options for one release, and only those: an option's name
says which spelling it takes, so no value is ever guessed.
"""

from __future__ import annotations

from typing import NamedTuple

from edgevsr.errors import EdgeVSRError


class _WH(NamedTuple):
    width: int
    height: int


class Size(_WH):
    """A frame size, width first (``Size(480, 272)`` is 480 pixels wide and 272 high); both positive."""

    __slots__ = ()

    def __new__(cls, width: int, height: int) -> Size:
        try:
            ok = not isinstance(width, bool | str) and not isinstance(height, bool | str) and \
                int(width) == width and int(height) == height and width > 0 and height > 0
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise EdgeVSRError(f"Size({width!r}, {height!r}): width and height must be positive whole numbers")
        return super().__new__(cls, int(width), int(height))

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width): the order of array shapes."""
        return self.height, self.width

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def _flag(option: str) -> str:
    return option if option.startswith("-") else f"--{option}"


def _positive(w: int, h: int, text: object, option: str) -> Size:
    if w <= 0 or h <= 0:
        raise EdgeVSRError(f"{_flag(option)} {text}: width and height must be positive")
    return Size(w, h)


def parse_size(text: str | Size | tuple[int, int], option: str = "size") -> Size:
    """``"480x272"`` (or a Size / (width, height) tuple from Python) -> Size(480, 272), both positive."""
    if isinstance(text, tuple):
        try:
            w, h = (int(v) for v in text)
        except (TypeError, ValueError):
            raise EdgeVSRError(f"{_flag(option)} {text!r}: expected (width, height)") from None
        return _positive(w, h, f"{w}x{h}", option)
    parts = str(text).lower().replace(" ", "").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise EdgeVSRError(f"{_flag(option)} {text!r}: expected WIDTHxHEIGHT of the LR input, e.g. 480x272") from None
    return _positive(w, h, text, option)


def parse_legacy_hw(text: str, option: str = "shape") -> Size:
    """The deprecated quantize spelling ``272x480`` or ``1x3x272x480`` (height first) -> Size(480, 272)."""
    try:
        parts = [int(p) for p in text.lower().replace(" ", "").split("x")]
    except ValueError:
        parts = []
    if len(parts) == 4 and parts[0] == 1:  # 1xCxHxW, as the old option took it
        parts = parts[2:]
    if len(parts) != 2:
        raise EdgeVSRError(f"{_flag(option)} {text!r}: expected 1x3xHxW or HxW (LR input size)")
    return _positive(parts[1], parts[0], text, option)


def fmt_size(size: tuple[int, int]) -> str:
    """(width, height) -> ``"480x272"``."""
    return f"{size[0]}x{size[1]}"


# The TensorRT shape profile `edgevsr build` uses by default: smallest, tuned-for and largest padded LR
# input (width, height). Here, torch-free, so `edgevsr build --help` can show it at once.
ENGINE_PROFILE = ((240, 136), (960, 544), (1920, 1080))
