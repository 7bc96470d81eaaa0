"""The one GT -> LR clip type (quality.paired) and the one quality budget (quality.gate) on real frames."""

from __future__ import annotations

import importlib.util
import math

import cv2
import numpy as np
import pytest
from conftest import ROOT, moving_clip, write_video

from edgevsr.errors import EdgeVSRError
from edgevsr.quality.gate import QualityBudget
from edgevsr.quality.paired import PairedClip, fit_frame
from edgevsr.quantize.pipeline import DEFAULT_BUDGET, quantize_model


def _bd_degrade():
    """The numpy re-derivation of BD in benchmarks/ (no edgevsr code)."""
    spec = importlib.util.spec_from_file_location("verify_eval_psnr", ROOT / "benchmarks" / "verify_eval_psnr.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.bd_degrade


def test_from_frames_crops_to_the_scale_and_degrades_like_the_independent_bd():
    frames = moving_clip(3, 50, 67, seed=4)  # neither side a multiple of 4
    clip = PairedClip.from_frames("pan", frames, "BD")
    assert [g.shape for g in clip.gt] == [(48, 64, 3)] * 3
    assert np.array_equal(clip.gt[1], frames[1][:48, :64])  # top-left crop without a size
    bd = _bd_degrade()
    for g, lr in zip(clip.gt, clip.lr, strict=True):
        assert lr.shape == (12, 16, 3) and lr.dtype == np.uint8
        assert np.abs(lr.astype(int) - bd(g).astype(int)).max() <= 1  # float32 vs float64 rounding only
    bi = PairedClip.from_frames("pan", frames, "BI")
    assert bi.degradation == "BI" and not np.array_equal(bi.lr[0], clip.lr[0])


def test_size_is_a_centre_crop_to_at_most_that_size():
    f = moving_clip(1, 60, 90)[0]
    out = fit_frame(f, 4, (40, 100))  # width 40, height capped by the frame (60)
    assert out.shape == (60, 40, 3) and np.array_equal(out, f[:, 25:65])
    assert fit_frame(f, 4, (41, 30)).shape == (28, 40, 3)


def test_read_streamed_and_given_lr_agree_on_a_real_video(tmp_path):
    frames = moving_clip(5, 48, 64, seed=2)
    video = write_video(tmp_path / "clip.mp4", frames)
    read = PairedClip.read(video, max_frames=3)
    assert read.name == "clip" and len(read.gt) == 3 and read.fps == pytest.approx(24)
    streamed = PairedClip.streamed("clip", video, "BD")
    pairs = list(zip(streamed.gt, streamed.lr, strict=True))
    assert len(pairs) == 5  # the whole video, one pass
    for (g, lr), g2, lr2 in zip(pairs, read.gt, read.lr):
        assert np.array_equal(g, g2) and np.array_equal(lr, lr2)
    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    for i, lr in enumerate(read.lr):
        cv2.imwrite(str(lr_dir / f"{i:03d}.png"), cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    given = PairedClip.given_lr("clip", video, lr_dir)
    assert given.degradation is None and [x.shape for x in given.lr] == [(12, 16, 3)] * 3
    with pytest.raises(EdgeVSRError, match="LR was given"):
        given.tensors()


def test_tensors_keep_the_lr_unrounded_as_training_sees_it():
    clip = PairedClip.from_frames("pan", moving_clip(2, 32, 48), "BD")
    hr, lr = clip.tensors()
    assert hr.shape == (2, 3, 32, 48) and lr.shape == (2, 3, 8, 12)
    as_uint8 = np.stack(clip.lr).transpose(0, 3, 1, 2) / 255
    diff = np.abs(lr.numpy() - as_uint8)
    assert diff.max() <= 0.5 / 255 + 1e-6 and diff.max() > 0  # the same LR, before rounding


def test_unknown_degradation_is_one_clear_error():
    with pytest.raises(EdgeVSRError, match="degradation 'XX': choose one of BD, BI"):
        PairedClip.from_frames("pan", moving_clip(1, 16, 16), "XX")


def test_one_budget_serves_eval_and_quantize(tmp_path):
    b = QualityBudget(max_lpips_increase=0.01, max_psnr_drop=0.3, min_psnr_vs_ref=40.0)
    # quantize's names and order, for its report and metadata
    assert list(b.named_for("fp32").items()) == [("min_psnr_vs_fp32", 40.0), ("max_lpips_increase", 0.01),
                                                 ("max_psnr_drop", 0.3)]
    assert b.part(vs_gt=False).given() == {"min_psnr_vs_ref": 40.0}
    assert b.part(vs_gt=True).given() == {"max_lpips_increase": 0.01, "max_psnr_drop": 0.3}
    checks = b.check({"lpips": 0.20, "psnr_y": 30.0}, {"lpips": 0.18, "psnr_y": 30.1}, {"psnr_y": 41.0})
    by = {c.budget: c for c in checks}
    assert by["max_lpips_increase"].value == pytest.approx(0.02) and not by["max_lpips_increase"].passed
    assert by["max_psnr_drop"].value == pytest.approx(0.1) and by["max_psnr_drop"].passed
    assert by["min_psnr_vs_ref"].passed
    assert QualityBudget(max_psnr_drop=0).check({"psnr_y": math.inf}, {"psnr_y": math.inf}, {})[0].passed
    with pytest.raises(EdgeVSRError, match="needs the lpips metric"):
        QualityBudget(max_lpips_vs_ref=0.1).check({}, {}, {"psnr_y": 40.0})
    assert DEFAULT_BUDGET == QualityBudget(min_psnr_vs_ref=40.0)  # --min-psnr-vs-fp32 40 by default
    # the budget is checked before anything is exported or written
    with pytest.raises(EdgeVSRError, match="measured against ground truth"):
        quantize_model("espcn", tmp_path / "x.onnx", "fp16", budget=QualityBudget(max_psnr_drop=0.1))
    with pytest.raises(EdgeVSRError, match="max_lpips_vs_ref: quantize does not measure it"):
        quantize_model("espcn", tmp_path / "x.onnx", "fp16", budget=QualityBudget(max_lpips_vs_ref=0.1))
    assert not (tmp_path / "x.onnx").exists()
