"""The GPU sprint's parts that run anywhere: the no-GPU exit, the data that travels, the training driver."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch
import yaml
from conftest import moving_clip, write_video

from edgevsr.data import build_dataset, read_index
from edgevsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "benchmarks" / "gpu"
sys.path.insert(0, str(GPU))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present: the sprint would train")
def test_sprint_without_gpu_says_so_in_one_line_and_exits_0(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out")}
    res = subprocess.run(["bash", str(GPU / "train_sprint.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing written


def test_sprint_config_is_valid_and_uses_tecogan_settings():
    cfg = load_config(GPU / "sprint_egvsr.yaml")
    assert cfg.data.at(10**5) == (10, 128, 16) and cfg.amp and cfg.device == "cuda"
    assert 0 < cfg.time_limit_minutes <= 8 and cfg.flow_teacher_weight > 0


CANDIDATE = "training/candidates/egvsr.safetensors"


def test_sprint_continues_the_campaign_candidate():
    """The sprint's stage 1 starts from the CPU campaign's committed candidate, as the campaign validates it."""
    cfg = load_config(GPU / "sprint_egvsr.yaml")
    assert cfg.init == CANDIDATE, "the sprint continues the campaign: init is its candidate, not older weights"
    path = ROOT / cfg.init
    assert path.is_file(), f"{cfg.init} is missing: the sprint would fail on the GPU machine"
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model"] == cfg.model and card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    campaign = load_config(ROOT / "edgevsr/configs/egvsr/campaign-stage1.yaml")
    assert cfg.data.val_clips == campaign.data.val_clips == card["val_clips"]  # comparable with the candidate's
    assert cfg.data.val_frames == campaign.data.val_frames
    assert cfg.ema_decay > 0 and cfg.lr <= 5e-5 and cfg.stage == 1 and not cfg.reinit_fnet


def test_sprint_init_travels_with_the_tree():
    """The device tool sends tracked and untracked-not-ignored files: the candidate must be one of them."""
    res = subprocess.run(["git", "ls-files", "--error-unmatch", CANDIDATE], cwd=ROOT, capture_output=True)
    if res.returncode and not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert res.returncode == 0, f"{CANDIDATE} is not tracked: it would not reach the GPU machine"
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", CANDIDATE], cwd=ROOT)
    assert ignored.returncode == 1, f"{CANDIDATE} is git-ignored"


def test_training_set_holds_the_sprint_validation_clips():
    """`pack` carries every clip of the dataset's val split: train-v4's builder must put the sprint's there (checked
    on the builder's definition, so a clone without data/ tests it too)."""
    from edgevsr.train import datasets

    cfg = load_config(GPU / "sprint_egvsr.yaml")
    v4_val = {"tree", "bikes", *datasets.NATURAL_VAL} | {n for n, (_, split) in datasets.HELD_OUT.items()
                                                           if split == "val"}
    assert set(cfg.data.val_clips) <= v4_val, set(cfg.data.val_clips) - v4_val


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> tuple[Path, Path]:
    import sprint_data

    tmp = tmp_path_factory.mktemp("sprint")
    video = write_video(tmp / "pan.mp4", moving_clip(12, 96, 128), fps=10)
    held = write_video(tmp / "held.mp4", moving_clip(8, 64, 96, seed=3), fps=10)
    photo = tmp / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(moving_clip(1, 200, 260, seed=5)[0], cv2.COLOR_RGB2BGR))
    build_dataset([video, held, photo], tmp / "ds", val=["held"])
    sprint_data.pack(tmp / "ds", tmp / "packed", None, video_frames=8, val_frames=6)
    return tmp / "ds", tmp / "packed"


def test_pack_keeps_real_video_and_photos_and_unpack_rebuilds_a_dataset(packed, tmp_path):
    import sprint_data

    _, pk = packed
    manifest = json.loads((pk / "sprint.json").read_text())
    assert manifest["videos"] == ["pan"] and manifest["photos"] == ["photo"] and manifest["val"] == ["held"]
    assert len(list((pk / "videos" / "pan").iterdir())) == 8
    assert {p.suffix for p in pk.rglob("*") if p.is_file() and p.name != "sprint.json"} == {".webp"}
    assert len(list((pk / "val" / "held").iterdir())) == 6 and manifest["format"]["quality"]["val"] == 95
    index = sprint_data.unpack(pk, tmp_path / "ds", clips_per_photo=3)
    clips = {c["name"]: c for c in read_index(tmp_path / "ds")["clips"]}
    assert index["clips"] and clips["held"]["split"] == "val" and clips["held"]["frames"] == 6
    assert {"photo_0", "photo_1", "photo_2"} <= set(clips) and clips["photo_0"]["kind"] == "synthetic"


def test_sprint_training_driver_writes_fp16_weights_and_validation(packed, tmp_path):
    import sprint_data
    import sprint_train

    sprint_data.unpack(packed[1], tmp_path / "ds", clips_per_photo=2)
    raw = yaml.safe_load((GPU / "sprint_egvsr.yaml").read_text())
    raw.update({"model": "egvsr-lite", "device": "cpu", "threads": 1, "init": "", "run_dir": str(tmp_path / "run"),
                "iterations": 2, "val_every": 2, "log_every": 1, "flow_teacher_preset": "ultrafast"})
    raw["data"].update({"root": str(tmp_path / "ds"), "window": 3, "crop": 32, "batch": 1, "val_clips": ["held"],
                        "val_frames": 4, "curriculum": []})
    cfg = tmp_path / "cpu.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert sprint_train.main(str(cfg), str(tmp_path / "out")) == 0
    weights = tmp_path / "out" / "egvsr-lite-sprint.safetensors"
    assert weights.stat().st_size < 16 * 2**20
    from safetensors.torch import load_file

    assert all(v.dtype == torch.float16 for v in load_file(str(weights)).values() if v.is_floating_point())
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["iterations_run"] == 2 and "warp_err@held" in card["validation"]
    assert (tmp_path / "out" / "val.csv").is_file()


def test_sprint_stage0_hands_its_fnet_to_stage1(packed, tmp_path):
    import sprint_data
    import sprint_train

    sprint_data.unpack(packed[1], tmp_path / "ds", clips_per_photo=2)
    data = {"root": str(tmp_path / "ds"), "crop": 32, "batch": 2, "val_clips": ["held"], "val_frames": 4,
            "curriculum": []}
    raw0 = yaml.safe_load((GPU / "sprint_egvsr_stage0.yaml").read_text())
    cfg0 = load_config(GPU / "sprint_egvsr_stage0.yaml")  # continues the shipped FNet: no re-draw, no BatchNorm
    assert raw0["stage"] == 0 and not cfg0.reinit_fnet and not cfg0.flow_batchnorm
    raw1 = yaml.safe_load((GPU / "sprint_egvsr.yaml").read_text())
    raw0.update({"model": "egvsr-lite", "device": "cpu", "threads": 1, "init": "", "run_dir": str(tmp_path / "s0"),
                 "iterations": 2, "val_every": 2, "log_every": 1, "flow_teacher_preset": "ultrafast"})
    raw0["data"].update(data | {"window": 4})
    raw1.update({"model": "egvsr-lite", "device": "cpu", "threads": 1, "run_dir": str(tmp_path / "s1"),
                 "iterations": 1, "val_every": 1, "flow_teacher_preset": "ultrafast"})  # init: the candidate
    raw1["data"].update(data | {"window": 3})
    for name, raw in (("s0.yaml", raw0), ("s1.yaml", raw1)):
        (tmp_path / name).write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert sprint_train.main(str(tmp_path / "s0.yaml"), str(out)) == 0
    assert (out / "stage0-val.csv").is_file() and not list(out.glob("*.safetensors"))  # nothing to ship yet
    # --init-from: stage 0's best file replaces the config's init (the candidate, an egvsr file)
    assert sprint_train.main(str(tmp_path / "s1.yaml"), str(out), init_from=str(tmp_path / "s0.yaml")) == 0
    card = json.loads((out / "egvsr-lite-sprint.json").read_text())
    assert card["init"] == str(tmp_path / "s0" / "best.safetensors")
    assert card["init_sha256"] == hashlib.sha256((tmp_path / "s0" / "best.safetensors").read_bytes()).hexdigest()


def test_sprint_rehearsal_path_continues_the_candidate_with_a_weight_average(packed, tmp_path):
    """sprint_egvsr.yaml as run_all.sh's rehearsal runs it (--work, --rehearse): its card records the candidate."""
    import sprint_data
    import sprint_train

    sprint_data.unpack(packed[1], tmp_path / "sprint-ds", clips_per_photo=1)  # the config's /tmp/sprint-ds
    out = tmp_path / "out"
    assert sprint_train.main(str(GPU / "sprint_egvsr.yaml"), str(out), work=str(tmp_path), rehearse=True) == 0
    card = json.loads((out / "egvsr-sprint.json").read_text())
    candidate = json.loads((ROOT / CANDIDATE).with_suffix(".json").read_text())
    assert card["init"] == CANDIDATE and card["init_sha256"] == candidate["sha256"]
    assert card["weights"] == "ema" and card["validation"]["weights"] == "ema" and card["config"]["ema_decay"] > 0
    assert isinstance(card["improved_on_init"], bool)
    assert "raw_psnr_y" in (out / "val.csv").read_text().splitlines()[0]  # the raw weights beside the average
