"""Dataset build from real encoded clips and the window sampler's shapes and augmentations."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from conftest import moving_clip, write_video

from edgevsr.data import BuildOptions, WindowSampler, build_dataset, filter_static, read_index, synthetic_motion
from edgevsr.errors import EdgeVSRError


@pytest.fixture
def sources(tmp_path):
    frames = moving_clip(10, 64, 96)
    frames = frames[:4] + [frames[3]] * 3 + frames[4:]  # a still stretch the builder must drop
    a = write_video(tmp_path / "pan.mp4", frames, fps=10)
    b = write_video(tmp_path / "held.mp4", moving_clip(8, 64, 96, seed=1), fps=10)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.GaussianBlur(np.random.default_rng(2).integers(0, 256, (160, 200, 3), np.uint8),
                                             (5, 5), 1.5))
    return [a, b, photo]


def test_build_writes_frames_index_and_split(sources, tmp_path):
    out = tmp_path / "ds"
    index = build_dataset(sources, out, BuildOptions(min_diff=1.0, synth_frames=6, synth_size=64), val=["held"])
    clips = {c["name"]: c for c in index["clips"]}
    assert set(clips) == {"pan", "held", "photo"}
    # the three repeated frames (H.264 re-encoded, so not bit-identical) are dropped as static
    assert clips["pan"]["frames"] == 10 and clips["pan"]["dropped"] == 3
    assert clips["held"]["split"] == "val" and clips["pan"]["split"] == "train"
    assert clips["photo"]["kind"] == "synthetic" and clips["photo"]["frames"] == 6
    assert len(list((out / "pan").glob("*.png"))) == 10
    assert json.loads((out / "index.json").read_text()) == read_index(out)
    assert (clips["photo"]["width"], clips["photo"]["height"]) == (64, 64)


def test_gzip_video_is_decoded(tmp_path):
    import gzip

    raw = write_video(tmp_path / "c.mp4", moving_clip(5, 64, 64), fps=10).read_bytes()
    gz = tmp_path / "clip.mp4.gz"
    gz.write_bytes(gzip.compress(raw))
    index = build_dataset([gz], tmp_path / "ds")
    assert index["clips"][0]["name"] == "clip" and index["clips"][0]["frames"] == 5


def test_build_rejects_unknown_holdout_and_missing_source(sources, tmp_path):
    with pytest.raises(EdgeVSRError, match="held-out clip 'nope'"):
        build_dataset(sources, tmp_path / "ds", val=["nope"])
    with pytest.raises(EdgeVSRError, match="no such file"):
        build_dataset([tmp_path / "missing.mp4"], tmp_path / "ds2")


def test_filter_static_and_synthetic_motion_moves():
    f = moving_clip(3, 32, 32)
    kept = [k for _, k in filter_static([f[0], f[0].copy(), f[1]], 0.5)]
    assert kept == [True, False, True]
    frames = synthetic_motion(np.asarray(moving_clip(1, 200, 200)[0]), 5, 64, np.random.default_rng(0))
    assert all(x.shape == (64, 64, 3) for x in frames)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2  # the camera moved


def _labelled_dataset(root, t=8, h=48, w=64):
    """Frames whose pixels encode (t, y, x), so every augmentation can be read back from a sample."""
    clip = root / "lab"
    clip.mkdir(parents=True)
    for i in range(t):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = i * 30
        img[..., 1] = np.arange(h)[:, None] * 4
        img[..., 2] = np.arange(w)[None, :] * 3
        cv2.imwrite(str(clip / f"{i:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (root / "index.json").write_text(json.dumps({"version": 1, "clips": [
        {"name": "lab", "split": "train", "frames": t, "width": w, "height": h}]}))


def test_sampler_shapes_and_augmentations(tmp_path):
    _labelled_dataset(tmp_path)
    s = WindowSampler(tmp_path, "train", window=4, crop=32, seed=0)
    x = s.sample(64)
    assert x.shape == (64, 4, 3, 32, 32) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    dt = (x[:, 1, 0, 0, 0] - x[:, 0, 0, 0, 0]) * 255  # +30 forward, -30 reversed
    dy = x[:, 0, 1, 1, 0] - x[:, 0, 1, 0, 0]
    dx = x[:, 0, 2, 0, 1] - x[:, 0, 2, 0, 0]
    for d in (dt, dy, dx):
        assert (d > 0).any() and (d < 0).any()  # each augmentation happens, and not always
    assert set(np.round(dt.numpy()).astype(int)) == {30, -30}  # consecutive frames, never skipped


def test_sampler_kind_share_sets_each_kinds_part_of_the_samples(tmp_path):
    """Two video clips (6 and 2 windows) and one synthetic (2 windows): by windows the still gets 0.2 of the
    samples; with kind_share {video: 0.5, synthetic: 0.5} it gets half, and the videos split theirs 3:1."""
    clips = []
    for name, kind, t, value in (("v1", "video", 9, 10), ("v2", "video", 5, 20), ("s", "synthetic", 5, 30)):
        (tmp_path / name).mkdir()
        for i in range(t):
            cv2.imwrite(str(tmp_path / name / f"{i:06d}.png"), np.full((32, 32, 3), value, np.uint8))
        clips.append({"name": name, "split": "train", "kind": kind, "frames": t, "width": 32, "height": 32})
    (tmp_path / "index.json").write_text(json.dumps({"version": 1, "clips": clips}))

    def parts(sampler):
        v = np.round(sampler.sample(4000)[:, 0, 0, 0, 0].numpy() * 255).astype(int)
        return {c: float(np.mean(v == c)) for c in (10, 20, 30)}

    by_windows = parts(WindowSampler(tmp_path, window=4, crop=32, seed=0))
    assert by_windows[30] == pytest.approx(0.2, abs=0.03)
    shared = parts(WindowSampler(tmp_path, window=4, crop=32, seed=0, kind_share={"video": 0.5, "synthetic": 0.5}))
    assert shared[30] == pytest.approx(0.5, abs=0.03) and shared[10] == pytest.approx(0.375, abs=0.03)
    with pytest.raises(EdgeVSRError, match="must name each kind"):
        WindowSampler(tmp_path, window=4, crop=32, kind_share={"video": 1.0})
    with pytest.raises(EdgeVSRError, match="share of 0"):
        WindowSampler(tmp_path, window=4, crop=32, kind_share={"video": 0.0, "synthetic": 0.0})


def test_sampler_refuses_too_short_clips(tmp_path):
    _labelled_dataset(tmp_path, t=3)
    with pytest.raises(EdgeVSRError, match="no train clip holds 4 frames"):
        WindowSampler(tmp_path, "train", window=4, crop=32)


# the project's training sets (edgevsr dataset build-train) ------------------------------------------------
def test_build_train_checks_every_source_before_decoding(tmp_path):
    from conftest import run_cli

    from edgevsr.train.datasets import NATURAL_TRAIN, build_train

    with pytest.raises(EdgeVSRError, match="train-v4 needs --natural"):
        build_train("v4", tmp_path / "ds", tmp_path, tmp_path)
    with pytest.raises(EdgeVSRError, match="'v5': choose v3 or v4"):
        build_train("v5", tmp_path / "ds", tmp_path, tmp_path)
    with pytest.raises(EdgeVSRError, match=f"{NATURAL_TRAIN[0]}.mp4: natural clip not found \\(9 missing"):
        build_train("v4", tmp_path / "ds", tmp_path, tmp_path, natural=tmp_path)
    (tmp_path / "src").mkdir()
    code, err = run_cli("dataset", "build-train", "v3", "--pkgs", tmp_path / "none", "--sources", tmp_path / "src",
                        "-o", tmp_path / "ds")
    assert code == 2 and "source not found" in err and "\n" not in err.strip(), err
    assert not (tmp_path / "ds").exists()  # nothing half-built
    code, err = run_cli("dataset", "build-train", "v3", "--pkgs", tmp_path / "none", "--sources", tmp_path / "src",
                        "--natural", tmp_path / "src", "-o", tmp_path / "ds")
    assert code == 2 and "--natural is for v4" in err and "\n" not in err.strip(), err  # refused, never ignored
    assert not (tmp_path / "ds").exists()
