"""Calibration: range methods on known distributions, statistics cache, calibration data errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgevsr.calibration.calibrators import (
    BINS,
    ActivationStats,
    cached_stats,
    entropy_amax,
    load_stats,
    percentile_amax,
    save_stats,
)
from edgevsr.calibration.reader import read_calib_frames
from edgevsr.errors import EdgeVSRError
from tests.conftest import moving_clip, write_video


def _hist(x: np.ndarray) -> tuple[np.ndarray, float]:
    amax = float(np.abs(x).max())
    idx = np.minimum((np.abs(x) * (BINS / amax)).astype(np.int64), BINS - 1)
    return np.bincount(idx, minlength=BINS).astype(np.float64), amax


def test_methods_clip_outliers_differently():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 200_000), [60.0, -55.0]])  # gaussian plus two far outliers
    hist, amax = _hist(x)
    assert amax == 60.0  # minmax keeps the outlier: 127 levels over +-60, ~0.5 per level
    p = percentile_amax(hist, amax, 99.99)
    assert 3.0 < p < 5.0  # 99.99 % of |N(0,1)| is 3.9
    e = entropy_amax(hist, amax)
    assert 2.0 < e < 20.0  # KL threshold: far below the outlier, above the bulk
    uniform, a2 = _hist(rng.uniform(-1, 1, 200_000))
    assert entropy_amax(uniform, a2) > 0.95 * a2  # nothing to clip in a uniform distribution


def _stats(names=("a", "b")) -> ActivationStats:
    n = len(names)
    hists = np.zeros((n, BINS))
    hists[:, :100] = 1.0
    return ActivationStats(list(names), np.array([-1.0, 0.0]), np.array([2.0, 3.0]), hists, "m1", "d1", 4)


def test_ranges_are_clipped_to_observed_min_max():
    r = _stats().ranges("minmax")
    assert r == {"a": (-1.0, 2.0), "b": (0.0, 3.0)}
    rp = _stats().ranges("percentile", 99.0)
    assert rp["b"][0] == 0.0 and rp["b"][1] < 3.0 * 100 / BINS + 1e-9  # post-ReLU stays one-sided
    with pytest.raises(EdgeVSRError, match="--method"):
        _stats().ranges("kl")


def test_stats_cache_roundtrip_reuse_and_corruption(tmp_path):
    path = tmp_path / "c.npz"
    save_stats(_stats(), path)
    back = load_stats(path)
    assert back.names == ["a", "b"] and back.model_hash == "m1" and np.array_equal(back.hists, _stats().hists)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(EdgeVSRError, match="bad.npz: corrupted"):
        load_stats(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(EdgeVSRError, match="foreign.npz"):
        load_stats(foreign)


def test_cached_stats_collects_then_reuses(tmp_path):
    """A real (tiny) ONNX graph: Conv + Relu; statistics come from the cache only when graph and data match."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                           helper.make_node("Relu", ["c"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    proto = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(proto)
    steps = [(np.random.default_rng(i).random((1, 3, 8, 8), np.float32),) for i in range(3)]
    cache = tmp_path / "s.npz"
    s1, hit1 = cached_stats(proto, steps, cache)
    assert not hit1 and cache.is_file() and s1.names == ["x", "c", "y"]
    assert s1.mins[2] == 0.0 and s1.maxs[1] == s1.maxs[2]  # Relu output: one-sided, same max as conv
    assert s1.hists.sum(axis=1)[0] == 3 * 3 * 64  # every value of every step counted once
    _, hit2 = cached_stats(proto, steps, cache)
    assert hit2
    _, hit3 = cached_stats(proto, steps[:2], cache)  # different data: recomputed
    assert not hit3


def test_calibration_data_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EdgeVSRError, match="empty: folder holds no images"):
        read_calib_frames(empty, 8)
    import cv2

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "1.png"), np.zeros((16, 16, 3), np.uint8))
    cv2.imwrite(str(mixed / "2.png"), np.zeros((16, 24, 3), np.uint8))
    with pytest.raises(EdgeVSRError, match="2.png|frame 1"):
        read_calib_frames(mixed, 8)
    one = write_video(tmp_path / "one.mp4", moving_clip(1))
    with pytest.raises(EdgeVSRError, match="one.mp4: 1 frame"):
        read_calib_frames(one, 8)
    clip = write_video(tmp_path / "clip.mp4", moving_clip(6, 64, 96))
    frames = read_calib_frames(clip, 4, (32, 48))
    assert len(frames) == 4 and frames[0].shape == (32, 48, 3)
    with pytest.raises(EdgeVSRError, match="smaller than"):
        read_calib_frames(clip, 4, (128, 48))
    with pytest.raises(EdgeVSRError, match="--calib-frames 1"):
        read_calib_frames(clip, 1)
