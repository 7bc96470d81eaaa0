"""Per-frame video quality metrics, defined as the TecoGAN / EGVSR evaluation code defines them.

All functions take HxWx3 uint8 RGB frames of equal size (the evaluator crops
mismatched sizes first). See docs/metrics.md for the definitions and sources.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgevsr.errors import EdgeVSRError

BORDER = 8  # pixels cropped from each side before PSNR / SSIM
# OpenCV Farneback parameters of the TecoGAN tOF: pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(frame: np.ndarray) -> np.ndarray:
    """BT.601 luma in studio range, Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in [0, 1].

    Rounded to 8-bit levels as EGVSR's ``rgb_to_ycbcr`` (and MATLAB's rgb2ycbcr on uint8) do; float64 out.
    """
    y = frame.astype(np.float64) @ _Y_WEIGHTS + 16.0
    return np.clip(np.round(y), 0, 255)


def crop_border(img: np.ndarray, border: int = BORDER) -> np.ndarray:
    if border <= 0:
        return img
    if img.shape[0] <= 2 * border or img.shape[1] <= 2 * border:
        raise EdgeVSRError(f"frame {img.shape[1]}x{img.shape[0]} is too small for a {border}-pixel border crop "
                           "(--border 0, or larger frames)")
    return img[border:-border, border:-border]


def psnr_from_mse(mse: float, peak: float = 255.0) -> float:
    """PSNR in dB; identical images give ``inf``."""
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def psnr(out: np.ndarray, gt: np.ndarray, channel: str = "y", border: int = BORDER) -> float:
    """PSNR on the BT.601 Y channel (``channel="y"``) or on all RGB samples (``"rgb"``), borders cropped."""
    if channel == "y":
        a, b = rgb_to_y(out), rgb_to_y(gt)
    elif channel == "rgb":
        a, b = out.astype(np.float64), gt.astype(np.float64)
    else:
        raise ValueError(f"channel {channel!r}: choose 'y' or 'rgb'")
    d = crop_border(a, border) - crop_border(b, border)
    return psnr_from_mse(float(np.mean(d * d)))


def ssim_y(out: np.ndarray, gt: np.ndarray, border: int = BORDER) -> float:
    """SSIM (Wang et al. 2004) on the Y channel: 11x11 Gaussian window, sigma 1.5, K = (0.01, 0.03), L = 255.

    Statistics only where the whole window fits ('valid'), as MATLAB's reference ssim.m and BasicSR do.
    """
    return ssim_from_y(crop_border(rgb_to_y(out), border), crop_border(rgb_to_y(gt), border))


def ssim_from_y(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    win = g @ g.T

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.filter2D(x, -1, win, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def grey(frame: np.ndarray) -> np.ndarray:
    """The grey image the tOF flow is computed on (OpenCV RGB2GRAY, as the reference code)."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def farneback_flow(prev_grey: np.ndarray, cur_grey: np.ndarray) -> np.ndarray:
    """Dense HxWx2 float32 flow from t-1 to t (OpenCV Farneback, TecoGAN's parameters)."""
    return cv2.calcOpticalFlowFarneback(prev_grey, cur_grey, None, *FARNEBACK)


def tof_from_flows(flow_out: np.ndarray, flow_gt: np.ndarray) -> float:
    """Mean per-pixel Euclidean norm of the difference of two flows."""
    d = flow_out.astype(np.float64) - flow_gt.astype(np.float64)
    return float(np.mean(np.sqrt(np.sum(d * d, axis=-1))))


def tof(out_prev: np.ndarray, out_cur: np.ndarray, gt_prev: np.ndarray, gt_cur: np.ndarray) -> float:
    """tOF of frame t: how differently the output and the ground truth move from t-1 to t."""
    return tof_from_flows(farneback_flow(grey(out_prev), grey(out_cur)),
                          farneback_flow(grey(gt_prev), grey(gt_cur)))


def tlp100(lpips_gt_step: float, lpips_out_step: float) -> float:
    """tLP x 100: |LPIPS(gt[t-1], gt[t]) - LPIPS(out[t-1], out[t])| x 100."""
    return 100.0 * abs(float(lpips_gt_step) - float(lpips_out_step))
