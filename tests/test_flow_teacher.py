"""The flow teacher (OpenCV DIS on HR frames) and the warp-error diagnostic, on real footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from edgevsr.data import WindowSampler
from edgevsr.degrade import degrade_tensor
from edgevsr.io.frames import read_image
from edgevsr.models import build_model
from edgevsr.models.ops import backward_warp
from edgevsr.train.config import DataConfig, load_config
from edgevsr.train.flow_teacher import teacher_flows, teacher_loss, teacher_weight, warp_errors


@pytest.fixture
def real_frames(fixtures):
    def frames(n: int = 4, size: int = 128) -> torch.Tensor:
        return _real_frames(fixtures / "clip", n, size)
    return frames


def _real_frames(clip: Path, n: int, size: int) -> torch.Tensor:
    """(1, n, 3, size, size): a crop of consecutive frames of the fixture clip (a juggler: real motion)."""
    frames = [read_image(clip / f"im{i}.png")[32:32 + size, 240:240 + size] for i in range(1, n + 1)]
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]


def test_teacher_flow_explains_real_motion_in_fnets_direction(real_frames):
    hr = real_frames()
    flow, valid = teacher_flows(hr)
    assert flow.shape == (1, 4, 2, 32, 32) and valid.shape == (1, 4, 1, 32, 32)
    assert float(flow[:, 0].abs().max()) == 0 and float(valid[:, 0].max()) == 0  # frame 0 vs itself: nothing
    assert float(valid[:, 1:].mean()) > 0.5
    lr = degrade_tensor(hr.flatten(0, 1), "BD").unflatten(0, (1, 4))
    prev, cur, f = lr[0, :-1], lr[0, 1:], flow[0, 1:]
    zero = float((prev - cur).abs().mean())
    right = float((backward_warp(prev, f) - cur).abs().mean())
    wrong = float((backward_warp(prev, -f) - cur).abs().mean())
    assert right < 0.8 * zero < wrong  # backward_warp(prev, flow) lands on the current frame; the opposite doesn't


def test_teacher_loss_trains_fnet_towards_the_teacher(real_frames):
    torch.manual_seed(0)
    hr = real_frames(3, 64)
    target, valid = teacher_flows(hr)
    lr = degrade_tensor(hr.flatten(0, 1), "BD").unflatten(0, (1, 3))
    fnet = build_model("egvsr-lite").fnet
    opt = torch.optim.Adam(fnet.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        flows = torch.stack([torch.zeros_like(target[:, 0])] + [fnet(lr[:, i], lr[:, i - 1]) for i in (1, 2)], 1)
        return teacher_loss(flows, target, valid)

    first = loss().item()
    for _ in range(25):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 0.7 * first
    assert float(teacher_loss(target, target, valid)) < 0.011  # the Charbonnier floor (eps 0.01)


def test_teacher_schedule_then_joint_training():
    assert teacher_weight(0.05, 100, 0) == 0.05 and teacher_weight(0.05, 100, 99) == 0.05
    assert teacher_weight(0.05, 100, 100) == 0.0
    assert teacher_weight(0.05, 0, 10**6) == 0.05 and teacher_weight(0.0, 100, 0) == 0.0


def test_warp_error_diagnostic_on_real_frames(real_frames):
    hr = real_frames(4, 64)[0]
    lr = degrade_tensor(hr, "BD")
    model = build_model("egvsr-lite").eval()
    with torch.no_grad():
        out = model.forward_sequence(lr[None])[0]
    err = warp_errors(model, lr, out, hr)
    zero = float((hr[:-1] - hr[1:])[..., 8:-8, 8:-8].abs().mean() * 255)
    assert err["warp_err_zero"] == pytest.approx(zero, rel=1e-5)
    assert zero > 1.0  # the clip moves
    assert all(np.isfinite(v) and v > 0 for v in err.values()) and set(err) >= {"warp_err", "flow_epe"}
    assert warp_errors(build_model("espcn"), lr, out, hr) == {}  # no FNet, no diagnostic


def test_curriculum_switches_window_crop_and_batch(tmp_path):
    raw = {"model": "egvsr-lite", "data": {"window": 6, "crop": 96, "batch": 4, "curriculum": [
        {"start": 100, "window": 10, "crop": 128, "batch": 2}]}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    data: DataConfig = load_config(path).data
    assert data.at(0) == (6, 96, 4) and data.at(99) == (6, 96, 4) and data.at(100) == (10, 128, 2)
    assert data.largest() == (10, 128)
    raw["data"]["curriculum"][0]["crop"] = 100
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(Exception, match=r"curriculum\[0\]\.crop"):
        load_config(path)


def test_sampler_serves_smaller_windows_of_a_curriculum(tmp_path):
    import json

    import cv2

    clip = tmp_path / "c"
    clip.mkdir()
    for i in range(8):
        cv2.imwrite(str(clip / f"{i:06d}.png"), np.full((64, 64, 3), i * 20, np.uint8))
    (tmp_path / "index.json").write_text(json.dumps({"clips": [
        {"name": "c", "split": "train", "frames": 8, "width": 64, "height": 64}]}))
    s = WindowSampler(tmp_path, "train", window=8, crop=64)
    assert s.sample(2, 3, 32).shape == (2, 3, 3, 32, 32)
    with pytest.raises(Exception, match="built for"):
        s.sample(1, 9, 32)


def test_fresh_fnet_starts_without_motion_and_leaves_srnet_alone(real_frames):
    from edgevsr.train.flow_teacher import fresh_fnet

    torch.manual_seed(0)
    model = build_model("egvsr-lite")
    before = {k: v.clone() for k, v in model.srnet.state_dict().items()}
    enc = model.fnet.encoder1[0].weight.clone()
    fresh_fnet(model)
    lr = torch.rand(1, 3, 16, 16)
    assert model.fnet(lr, lr.roll(1, -1)).abs().max().item() < 0.5  # (almost) no flow until it learns one
    assert not torch.equal(enc, model.fnet.encoder1[0].weight)  # re-drawn
    hr = real_frames(2, 64)[0]
    lr2 = degrade_tensor(hr, "BD")
    feats = {}
    model.fnet.flow[0].register_forward_hook(lambda _m, _i, o: feats.setdefault("f", o))
    model.fnet(lr2[1:], lr2[:1])
    assert feats["f"].std().item() > 0.08  # the signal reaches the head (default init: ~0.02, FNet cannot learn)
    assert all(torch.equal(v, model.srnet.state_dict()[k]) for k, v in before.items())
