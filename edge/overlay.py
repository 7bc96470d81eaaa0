"""What the viewer sees on top of the video: live stats, and the bicubic-vs-model split view.

Drawn into the frame with OpenCV (so it looks the same in a window, an RTSP
stream or a recording); only display sinks get it unless asked for. Frames are
uint8 or uint16 (a deep source recorded to a file): white is the top of either.
"""

from __future__ import annotations

import cv2
import numpy as np

KEYS_HELP = "q quit  s split  p pause"


def split_view(lr: np.ndarray, hr: np.ndarray, label: str, position: float = 0.5) -> np.ndarray:
    """Left of ``position``: plain bicubic of the LR frame; right: the model's output (same size)."""
    h, w = hr.shape[:2]
    bic = cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC)
    cut = int(round(w * position))
    out = hr.copy()
    out[:, :cut] = bic[:, :cut]
    cv2.line(out, (cut, 0), (cut, h - 1), _white(out), max(1, h // 360))
    scale = _font_scale(h)
    _text(out, "bicubic", (max(2, cut - _width("bicubic", scale) - 6), h - 8), scale)
    _text(out, label, (cut + 6, h - 8), scale)
    return out


def draw_stats(img: np.ndarray, lines: list[str]) -> np.ndarray:
    """Stats lines in a dark box in the top-left corner (drawn in place; returns ``img``)."""
    h = img.shape[0]
    scale = _font_scale(h)
    step = int(30 * scale) + 4
    width = max(_width(s, scale) for s in lines) + 12
    box = img[: step * len(lines) + 8, : min(img.shape[1], width)]
    box //= 4  # darken: readable on any content
    for i, line in enumerate(lines):
        _text(img, line, (6, step * (i + 1)), scale)
    return img


def stats_lines(fps: float, latency_ms: float, dropped: int, resets: int, label: str, paused: bool = False,
                split: bool = False) -> list[str]:
    first = f"{fps:5.1f} fps  latency {latency_ms:4.0f} ms"
    return [first + ("  PAUSED" if paused else ""), f"dropped {dropped}  resets {resets}",
            label + ("  [split]" if split else ""), KEYS_HELP]


def _font_scale(height: int) -> float:
    return max(0.35, min(1.2, height / 720))


def _width(text: str, scale: float) -> int:
    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(round(scale * 1.5))) + 2)
    return w


def _white(img: np.ndarray) -> tuple[int, int, int]:
    top = int(np.iinfo(img.dtype).max)  # 255, or 65535 for deep frames
    return (top, top, top)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float) -> None:
    thick = max(1, int(round(scale * 1.5)))
    if img.dtype == np.uint8:
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
        return
    # OpenCV draws text on 8-bit images only: draw the coverage on an 8-bit mask and blend it into the deep frame
    for level, t in ((0, thick + 2), (_white(img)[0], thick)):
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.putText(mask, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, t, cv2.LINE_AA)
        ys, xs = np.nonzero(mask)
        if ys.size:
            a = mask[ys, xs, None].astype(np.float32) / 255.0
            img[ys, xs] = (img[ys, xs] * (1.0 - a) + level * a + 0.5).astype(img.dtype)
