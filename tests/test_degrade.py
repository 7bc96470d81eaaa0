"""BD / BI degradation as the TecoGAN/EGVSR evaluation code defines it."""

from __future__ import annotations

import numpy as np
import torch

from edgevsr.degrade import degrade_frame, degrade_tensor, gaussian_kernel


def test_gaussian_kernel_is_normalised_with_sigma_1_5():
    k = gaussian_kernel()
    assert k.shape == (9, 9) and abs(k.sum() - 1) < 1e-6
    import cv2

    g = cv2.getGaussianKernel(9, 1.5)  # independent implementation
    assert np.allclose(k, g @ g.T, atol=1e-7)


def test_bd_takes_every_fourth_pixel_of_the_blurred_frame():
    hr = torch.zeros(1, 1, 32, 32)
    hr[0, 0, 12, 8] = 1.0  # impulse on the sampling grid
    lr = degrade_tensor(hr, "BD")
    assert lr.shape == (1, 1, 8, 8)
    assert torch.isclose(lr[0, 0, 3, 2], torch.tensor(float(gaussian_kernel()[4, 4])), atol=1e-6)
    assert lr[0, 0].argmax() == 3 * 8 + 2


def test_flat_image_stays_flat_and_sizes_crop_to_multiples():
    hr = np.full((35, 42, 3), 200, np.uint8)
    for mode in ("BD", "BI"):
        lr = degrade_frame(hr, mode)
        assert lr.shape == (8, 10, 3)
        assert np.all(np.abs(lr.astype(int) - 200) <= 1)
