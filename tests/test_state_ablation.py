"""benchmarks/state_ablation.py: what a model's recurrent state is worth, per clip, with the clip's motion."""

from __future__ import annotations

import importlib.util
import json

import torch
from conftest import ROOT

spec = importlib.util.spec_from_file_location("state_ablation", ROOT / "benchmarks" / "state_ablation.py")
state_ablation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(state_ablation)


def test_reset_every_frame_is_each_frame_run_as_the_first():
    from edgevsr.weights import load_model

    net, _ = load_model("rrn-lite", "rrn-lite-stage1")
    net.eval()
    lr = torch.rand(1, 3, 3, 16, 16)
    with torch.no_grad():
        cut = state_ablation.ResetEveryFrame(net).forward_sequence(lr)
        alone = torch.stack([net.forward_sequence(lr[:, i:i + 1])[:, 0] for i in range(3)], dim=1)
        kept = net.forward_sequence(lr)
    assert torch.allclose(cut, alone, atol=1e-6)
    assert not torch.allclose(cut[:, 1:], kept[:, 1:], atol=1e-4)  # the trained state does change the output


def test_motion_of_a_known_shift():
    """A texture moved 1 LR pixel right per frame measures about 1 px a frame; a still clip about 0."""
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 24, 40, generator=g), scale_factor=4, mode="bicubic")
    moving = torch.stack([base[0, :, :, i: i + 64] for i in range(4)]).clamp(0, 1)
    mean, p90 = state_ablation.lr_motion(moving)
    assert 0.7 < mean < 1.3 and p90 < 1.6
    assert state_ablation.lr_motion(moving[:1].repeat(4, 1, 1, 1))[0] < 0.05


def test_rows_and_json_on_a_real_clip(fixtures, tmp_path, capsys):
    out = tmp_path / "ablation.json"
    assert state_ablation.main([str(fixtures / "clip"), "--weights", "rrn-lite-stage1", "--frames", "3",
                                "-o", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["weights"] == "rrn-lite-stage1" and row["frames"] == 3
    assert row["state_gain_db"] == round(row["psnr_y_state"] - row["psnr_y_reset"], 3)
    assert row["psnr_y_reset"] > row["psnr_y_bicubic_bd"]  # trained weights beat bicubic-bd even frame by frame


def test_missing_clip_is_one_line(tmp_path, capsys):
    assert state_ablation.main([str(tmp_path / "nope"), "--weights", "rrn-lite-stage1"]) == 2
    err = capsys.readouterr().err
    assert "nope: not a folder of frames" in err and err.count("\n") == 1


def test_bad_arguments_are_one_line_before_any_work(fixtures, tmp_path, capsys):
    """--frames below 2, --threads 0, an output that is a folder or an existing file (without --overwrite) and a
    one-frame clip all fail in one line with exit 2, before minutes of evaluation."""
    clip = str(fixtures / "clip")
    single = tmp_path / "single"
    single.mkdir()
    (single / "000000.png").write_bytes(next((fixtures / "clip").glob("*.png")).read_bytes())
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    cases = [([clip, "--frames", "1"], "--frames 1: need at least 2"),
             ([clip, "--frames", "-1"], "--frames -1: need at least 2"),
             ([clip, "--threads", "0"], "--threads 0: must be at least 1"),
             ([clip, "-o", str(tmp_path)], str(tmp_path)),
             ([clip, "-o", str(existing)], "old.json"),
             ([str(single)], "single: one frame")]
    for argv, message in cases:
        assert state_ablation.main([*argv, "--weights", "rrn-lite-stage1"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert existing.read_text() == "{}"
