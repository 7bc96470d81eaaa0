"""Model zoo: VESPCN / ESPCN on their published checkpoints, windowed clip ends, SOF-VSR trains."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import moving_clip

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.degrade import degrade_frame, degrade_tensor
from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import FrameSource, list_images, read_image
from edgevsr.io.writers import FrameSink
from edgevsr.models import build_model
from edgevsr.models.ops import pad_to_multiple
from edgevsr.models.spec import ModelSpec
from edgevsr.quality.metrics import psnr
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import load_model, read_state_dict

N_FRAMES = 14  # the first 14 frames of the fixture clip
CHECKPOINTS = {"vespcn": "pretrained/vespcn_ep0500.fp16.safetensors",
               "espcn": "pretrained/espcn_x4_subconv_100.fp16.safetensors"}


def gt_frames(fixtures: Path) -> list[np.ndarray]:
    src = iter(FrameSource(fixtures / "clip"))
    return [next(src) for _ in range(N_FRAMES)]


def upscale(name: str, weights: str | Path | None, frames: list[np.ndarray]) -> list[np.ndarray]:
    model, _ = load_model(name, weights=weights)
    return list(FrameUpscaler(TorchRunner(model, ModelSpec.of(model, name))).run(frames))


def mean_psnr(outs: list[np.ndarray], gts: list[np.ndarray]) -> float:
    return float(np.mean([psnr(o, g) for o, g in zip(outs, gts)]))


def best_shift_gap(outs: list[np.ndarray], gts: list[np.ndarray], radius: int = 1) -> tuple[float, tuple[int, int]]:
    """How far PSNR-Y at zero shift is below the best integer shift of output against GT (dB), and that shift."""
    h, w = gts[0].shape[:2]
    scores = {}
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            o = [x[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)] for x in outs]
            g = [x[max(0, dy): h - max(0, -dy), max(0, dx): w - max(0, -dx)] for x in gts]
            scores[(dy, dx)] = mean_psnr(o, g)
    best = max(scores, key=scores.get)
    return scores[best] - scores[(0, 0)], best


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_parameter_names_equal_the_published_checkpoint_keys(fixtures, name):
    sd = read_state_dict(fixtures / CHECKPOINTS[name])
    own = build_model(name).state_dict()
    assert set(own) == set(sd)
    assert all(own[k].shape == sd[k].shape for k in own)


def test_vespcn_checkpoint_through_the_cli_beats_bicubic_by_2db(fixtures, tmp_path):
    gts = gt_frames(fixtures)
    lr_dir = tmp_path / "lr"
    with FrameSink(lr_dir, fps=25) as sink:
        for g in gts:
            sink.write(degrade_frame(g, "BD"))
    out_dir = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "upscale", str(lr_dir), "-o", str(out_dir),
                        "--model", "vespcn", "--weights", str(fixtures / CHECKPOINTS["vespcn"])],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    outs = [read_image(p) for p in list_images(out_dir)]
    assert len(outs) == N_FRAMES  # windowed: as many frames out as in, clip ends replicated
    assert outs[0].shape == gts[0].shape
    bicubic = upscale("bicubic", None, [read_image(p) for p in list_images(lr_dir)])
    gain = mean_psnr(outs, gts) - mean_psnr(bicubic, gts)
    assert gain >= 2.0, gain  # measured +2.34 dB
    # Alignment handled inside core: no integer shift of the output fits ground truth better.
    gap, shift = best_shift_gap(outs, gts)
    assert gap < 0.05, (gap, shift)


def test_espcn_checkpoint_gains_over_bicubic_on_its_bi_degradation(fixtures):
    gts = gt_frames(fixtures)
    lr = [degrade_frame(g, "BI") for g in gts]
    outs = upscale("espcn", fixtures / CHECKPOINTS["espcn"], lr)
    base = upscale("bicubic", None, lr)
    gains = [psnr(o, g) - psnr(b, g) for o, b, g in zip(outs, base, gts)]
    assert np.mean(gains) >= 0.15 and min(gains) > 0, gains  # measured +0.26 dB, every frame
    gap, shift = best_shift_gap(outs, gts)
    assert gap < 0.05, (gap, shift)


def test_windowed_model_replicates_frames_at_clip_ends(clip):
    torch.manual_seed(0)
    model = build_model("vespcn")
    frames = [f[:37, :45] for f in clip[:4]]  # odd size: the padding path too
    up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, "vespcn")))
    assert up.push(frames[0]) == []  # the window needs the next frame first
    outs = [o for f in frames[1:] for o in up.push(f)] + up.flush()
    assert len(outs) == len(frames) and outs[0].shape == (148, 180, 3)

    lr = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    lr = pad_to_multiple(lr, model.size_multiple)[0]

    def explicit(indices: list[int]) -> np.ndarray:
        with torch.no_grad():
            hr = model.core(torch.cat([lr[i:i + 1] for i in indices], dim=1))[0, :, :148, :180]
        return (hr.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()

    def diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.abs(a.astype(int) - b.astype(int))

    assert diff(outs[0], explicit([0, 0, 1])).max() <= 1  # first frame: previous replicated
    assert diff(outs[-1], explicit([2, 3, 3])).max() <= 1  # last frame: next replicated
    assert diff(outs[0], explicit([1, 0, 1])).mean() > 1  # and the check can tell another scheme apart
    with torch.no_grad():
        seq = model.forward_sequence(lr[None, :, :, :37, :45])[0]
    assert seq.shape == (len(frames), 3, 148, 180)  # the training / eval path: as many frames out as in


def test_vespcn_onnx_export_streams_like_torch(fixtures, tmp_path):
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.quantize.export import export_onnx

    model, _ = load_model("vespcn", weights=fixtures / CHECKPOINTS["vespcn"])
    path = export_onnx(model, "vespcn", tmp_path / "vespcn.onnx").path
    lr = [degrade_frame(g) for g in gt_frames(fixtures)[:4]]  # 104x60: padded to 104x64 outside the graph
    ref = list(FrameUpscaler(TorchRunner(model, ModelSpec.of(model, "vespcn"))).run(lr))
    with OnnxRuntimeRunner(path) as runner:
        outs = list(FrameUpscaler(runner).run(lr))
    assert len(outs) == 4
    assert max(int(np.abs(o.astype(int) - r.astype(int)).max()) for o, r in zip(outs, ref)) <= 1


def test_sofvsr_runs_odd_sizes_and_learns():
    torch.manual_seed(0)
    model = build_model("sofvsr")
    with torch.no_grad():
        out = model.forward_sequence(torch.rand(1, 2, 3, 13, 17))  # both windows replicate a clip end
    assert out.shape == (1, 2, 3, 52, 68) and torch.isfinite(out).all()

    hr = torch.from_numpy(np.stack(moving_clip(3, 32, 32, seed=3))).permute(0, 3, 1, 2).float() / 255
    window = degrade_tensor(hr, "BD").reshape(1, 9, 8, 8)  # [prev, centre, next] of a tiny real crop
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        # the step forward_sequence runs per frame, plus SOF-VSR's flow loss as the official training weights it
        loss = (model.core(window) - hr[1:2]).abs().mean() + 0.01 * model.flow_loss(window, hr.reshape(1, 9, 32, 32))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())  # every layer is trained
    assert losses[-1] < 0.85 * losses[0], losses  # measured 0.19 -> 0.13


def test_sofvsr_drafts_are_flow_to_space_to_depth_in_the_official_order():
    from edgevsr.models.sofvsr import sof_warp

    torch.manual_seed(0)
    model = build_model("sofvsr")
    lumas = torch.rand(2, 3, 8, 16)
    with torch.no_grad():
        flows = model.hr_flows(lumas)  # (prev; next) x N
        got = model.drafts(lumas, flows)
    ref = []
    for i in range(4):  # the official loop: phase (i, j), then previous, next
        for j in range(4):
            ref += [sof_warp(lumas[:, k:k + 1], f[:, :, i::4, j::4] / 4) for k, f in ((0, flows[:2]), (2, flows[2:]))]
    assert torch.allclose(got, torch.cat(ref, dim=1), atol=1e-6)
    assert got.std() > 0


def test_sofvsr_has_no_weights_to_load():
    with pytest.raises(EdgeVSRError, match="no trained weights"):
        load_model("sofvsr")
