"""Training: the unroll matches inference, loss falls, resume is exact, configs are validated."""

from __future__ import annotations

import csv
import errno
import json
import os
from pathlib import Path

import pytest
import torch
import yaml
from conftest import moving_clip, write_video

from edgevsr.data import build_dataset
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.train.config import load_config
from edgevsr.train.losses import pingpong_loss, temporal_loss, unroll, warp_loss, warped_temporal_loss
from edgevsr.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[1] / "edgevsr" / "configs"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    a = write_video(tmp / "pan.mp4", moving_clip(10, 64, 96), fps=10)
    b = write_video(tmp / "held.mp4", moving_clip(6, 64, 96, seed=3), fps=10)
    build_dataset([a, b], tmp / "ds", val=["held"])
    return tmp / "ds"


def _config(tmp_path: Path, dataset: Path, **extra) -> Path:
    raw = {"model": "egvsr-lite", "run_dir": str(tmp_path / "run"), "iterations": 3, "lr": 1e-3, "threads": 1,
           "val_every": 1000, "log_every": 1000, "val_lpips": False, "warmup": 0,
           "data": {"root": str(dataset), "window": 3, "crop": 32, "batch": 2, "val_clips": ["held"],
                    "val_frames": 4}}
    raw.update(extra)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_unroll_is_the_inference_loop():
    torch.manual_seed(0)
    model = build_model("egvsr-lite")
    lr = torch.rand(1, 4, 3, 16, 24)
    with torch.no_grad():
        out, flows = unroll(model, lr)
        ref = model.forward_sequence(lr)
    assert torch.allclose(out, ref, atol=1e-6)
    assert flows.shape == (1, 4, 2, 16, 24)


def test_warp_and_pingpong_losses_are_zero_only_when_they_should_be():
    lr = torch.rand(1, 3, 3, 8, 8)
    zero = torch.zeros(1, 3, 2, 8, 8)
    static = lr[:, :1].repeat(1, 3, 1, 1, 1)
    assert float(warp_loss(static, zero)) < 1e-6 and float(warp_loss(lr, zero)) > 0.1
    assert float(pingpong_loss(lr, lr.flip(1))) == 0 and float(pingpong_loss(lr, lr)) > 0


def test_temporal_loss_charges_flicker_not_steady_error_or_motion():
    hr = torch.rand(1, 4, 3, 8, 8)  # ground truth that changes every frame (motion)
    steady = hr + 0.1  # wrong, but wrong the same way in every frame
    flicker = hr + 0.1 * torch.tensor([1.0, -1.0, 1.0, -1.0]).view(1, 4, 1, 1, 1)
    assert float(temporal_loss(hr, hr)) == 0 and float(temporal_loss(steady, hr)) < 1e-6
    assert float(temporal_loss(flicker, hr)) == pytest.approx(0.2, rel=1e-4)


def test_warped_temporal_loss_frees_detail_that_moves_with_the_content_and_still_charges_flicker():
    """A pan that moves 0, 1, 2, 1 LR px (x4 HR px) between frames: output detail that moves with the content
    costs nothing warped (each frame's own flow pairs with the frame before it) but costs the plain loss; detail
    that flickers costs both."""
    torch.manual_seed(0)
    steps = [0, 1, 2, 1]  # LR px moved into frame i from frame i-1
    t, h, w, pad = len(steps), 16, 48, 4 * sum(steps)
    base, texture = torch.rand(3, h, w + pad), torch.zeros(3, h, w + pad)
    texture[:, 4:12, 22:38] = 0.1 * torch.randn(3, 8, 16)
    offsets = [pad - 4 * sum(steps[:i + 1]) for i in range(t)]  # frame i shows the scene moved right

    def pan(img: torch.Tensor) -> torch.Tensor:
        return torch.stack([img[:, :, o:o + w] for o in offsets])[None]

    hr, moving = pan(base), pan(base + texture)
    flows = torch.zeros(1, t, 2, h // 4, w // 4)
    for i, step in enumerate(steps):
        flows[:, i, 0] = -float(step)  # current -> previous: the previous frame's pixel is `step` LR px left
    assert float(warped_temporal_loss(moving, hr, flows, 4)) < 1e-6 < float(temporal_loss(moving, hr))
    assert float(warped_temporal_loss(moving, hr, flows.roll(1, dims=1), 4)) > 1e-3  # each pair's own flow
    flicker = hr + texture[:, :, :w] * torch.tensor([1.0, -1.0, 1.0, -1.0]).view(1, t, 1, 1, 1)
    assert float(warped_temporal_loss(flicker, hr, flows, 4)) > 1e-3


def test_training_reduces_loss(tmp_path, dataset):
    cfg = load_config(_config(tmp_path, dataset, iterations=2))
    tr = Trainer(cfg)
    tr.fit()  # the loop, logging and checkpointing run
    assert tr.iteration == 2 and (tr.run_dir / "last.pt").is_file()
    torch.manual_seed(1)
    fixed = tr.batch()
    tr.batch = lambda: fixed  # overfit one batch: the step must make real progress on it
    first = tr.step()
    for _ in range(30):
        last = tr.step()
    assert last["pixel"] < 0.9 * first["pixel"], (first, last)  # starts at exactly bicubic (zero last layer)
    assert last["warp"] < first["warp"]
    assert tr.head_alive.value > 0.2  # the up-sampling head did not die
    row = tr.validate()
    assert {"psnr_y", "psnr_y_bicubic", "tof"} <= set(row)
    assert (tr.run_dir / "val.csv").is_file() and (tr.run_dir / "val.png").stat().st_size > 1000
    val = list(csv.DictReader(open(tr.run_dir / "val.csv")))
    train = list(csv.DictReader(open(tr.run_dir / "train.csv")))
    assert float(val[-1]["time"]) >= float(train[-1]["time"])  # when it was measured (edgevsr.train.hours)
    assert "time" not in row and "time" not in tr.best  # only the file gets it: best.json and cards keep metrics
    assert (tr.run_dir / "best.safetensors").is_file()
    _ships_what_it_trained(tr)


def _ships_what_it_trained(tr: Trainer) -> None:
    """ship-weights: FP16 file + card measured on the held-out clips, and it loads back as the same network."""
    from edgevsr.train.ship import ship
    from edgevsr.weights import load_model

    out = ship(tr.run_dir, "tiny-test", output=tr.run_dir / "shipped", frames=3)
    card = yaml.safe_load(out.with_suffix(".json").read_text())
    assert card["model"] == "egvsr-lite" and card["iterations"] == tr.best["iteration"]
    assert card["validation"]["clips"] == ["held"] and card["validation"]["frames"] == [3]
    assert card["init_sha256"] is None  # trained from scratch; a fine-tune records its starting file's hash
    assert {"psnr_y", "psnr_y_bicubic", "tof"} <= set(card["validation"])
    net, _ = load_model("egvsr-lite", out)
    lr = tr.val_clips[0].lr[None, :3]
    tr.model.eval()
    with torch.no_grad():
        ours = tr.model.forward_sequence(lr)
        shipped = net.forward_sequence(lr)
    assert (ours - shipped).abs().max() < 2e-2  # the same generator, rounded to FP16


def test_resume_continues_exactly(tmp_path, dataset):
    straight = Trainer(load_config(_config(tmp_path / "a", dataset)))
    straight.fit(3)
    first = Trainer(load_config(_config(tmp_path / "b", dataset)))
    first.fit(2)
    assert (first.run_dir / "last.pt").is_file()
    resumed = Trainer(load_config(_config(tmp_path / "b", dataset)), resume=True)
    assert resumed.iteration == 2
    resumed.fit(3)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_diverged_step_leaves_the_last_checkpoint_resumable(tmp_path, dataset):
    """A non-finite loss has already stepped the weights (NaN): last.pt must keep the weights before it, as the
    error tells the user to --resume from it."""
    tr = Trainer(load_config(_config(tmp_path, dataset)))
    tr.fit(2)
    before = torch.load(tr.checkpoint_path, weights_only=True)
    batch = tr.batch
    tr.batch = lambda: (lambda lr, hr: (lr, hr * float("nan")))(*batch())  # a NaN loss, finite inputs
    with pytest.raises(EdgeVSRError, match="loss became"):
        tr.fit(4)
    after = torch.load(tr.checkpoint_path, weights_only=True)
    assert int(after["iteration"]) == 2
    assert all(torch.equal(v, before["model"][k]) for k, v in after["model"].items())
    again = Trainer(load_config(_config(tmp_path, dataset)), resume=True)
    assert all(torch.isfinite(v).all() for v in again.model.state_dict().values())


def test_every_validation_is_checkpointed(tmp_path, dataset):
    """A run killed after a validation (SIGKILL, the machine gone: nothing saved on the way out) resumes from the
    validated iteration, and the checkpoint's record of `best` is the one best.json holds."""
    tr = Trainer(load_config(_config(tmp_path, dataset, val_every=2, checkpoint_minutes=1e6)))
    step, save = tr.step, tr.save_checkpoint
    saved: list[int] = []
    on_disk_when_killed: list[int] = []

    def killed_at_3():
        if tr.iteration == 2:
            on_disk_when_killed.extend(saved)
            raise KeyboardInterrupt
        return step()

    tr.step = killed_at_3
    tr.save_checkpoint = lambda: (saved.append(tr.iteration), save())
    with pytest.raises(KeyboardInterrupt):
        tr.fit(4)
    assert on_disk_when_killed == [2]
    state = torch.load(tr.checkpoint_path, weights_only=True)
    best = json.loads((tr.run_dir / "best.json").read_text())
    assert json.loads(state["best"])["iteration"] == best["iteration"] == 2


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path, dataset):
    Trainer(load_config(_config(tmp_path, dataset))).fit(1)
    with pytest.raises(EdgeVSRError, match="checkpoint is egvsr-lite stage 1"):
        Trainer(load_config(_config(tmp_path, dataset, model="frvsr")), resume=True)


@pytest.mark.parametrize("extra, message", [
    ({"bogus": 1}, "unknown key 'bogus'"),
    ({"lr": "fast"}, "lr: expected a number"),
    ({"model": "bicubic"}, "not a trainable architecture"),
    ({"data": {"crop": 50}}, "multiple of 32"),
    ({"stage": 3}, "stage must be 0, 1 or 2"),
    ({"model": "sofvsr", "stage": 2}, "needs a recurrent model"),
    ({"model": "espcn"}, "single-image model"),
    ({"threads": 0}, "threads must be >= 1"),  # reached torch.set_num_threads: an internal error
    # a weight below 0 (or NaN) skipped the ping-pong term silently since `> 0` selects the reversed pass
    ({"stage": 2, "gan": {"pingpong_weight": -1.0}}, "gan.pingpong_weight must be >= 0 and finite"),
    ({"stage": 2, "gan": {"pingpong_weight": float("nan")}}, "gan.pingpong_weight must be >= 0 and finite"),
    ({"stage": 2, "gan": {"perceptual_weight": float("inf")}}, "gan.perceptual_weight must be >= 0 and finite"),
    ({"data": {"kind_share": {"video": "most"}}}, "data.kind_share.video: expected a number"),
    ({"data": {"kind_share": [0.8, 0.2]}}, "data.kind_share: expected a mapping"),
    ({"data": {"kind_share": {"video": 0.0, "synthetic": 0.0}}}, "data.kind_share values must be >= 0"),
    ({"data": {"kind_share": {"video": -0.5, "synthetic": 1.0}}}, "data.kind_share values must be >= 0"),
])
def test_config_errors_name_the_problem(tmp_path, extra, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": "egvsr", **extra}))
    with pytest.raises(EdgeVSRError, match=message) as e:
        load_config(path)
    assert str(path) in str(e.value)


def test_shipped_configs_load_and_cli_overrides_apply():
    from edgevsr.models import ARCHITECTURES

    for path in sorted(CONFIGS.rglob("*.yaml")):
        cfg = load_config(path)
        assert cfg.model in ARCHITECTURES and path.parent.name in ARCHITECTURES, path
    cfg = load_config(CONFIGS / "egvsr" / "egvsr-stage1.yaml", {"data.batch": 7, "iterations": 9, "run_dir": None})
    assert (cfg.data.batch, cfg.iterations, cfg.run_dir) == (7, 9, "runs/egvsr-stage1-flow")


def test_train_cli_bad_config_is_one_line_exit_2(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("model: egvsr\ndata: {window: 1}\n")
    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "train", "--config", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "data.window must be >= 2" in r.stderr


def test_stage2_steps_checkpoints_and_resumes(tmp_path, dataset):
    pytest.importorskip("edgevsr.quality.lpips")
    from edgevsr.quality.lpips import resolve_weights

    try:
        resolve_weights()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS AlexNet weights not installed: {exc}")
    cfg = load_config(_config(tmp_path, dataset, stage=2, lr=1e-4, gan={"gan_weight": 0.01}))
    tr = Trainer(cfg)
    losses = [tr.step() for _ in range(2)]
    assert set(losses[0]) >= {"pixel", "warp", "pingpong", "percep", "adv", "d_loss"}
    assert all(torch.isfinite(torch.tensor(list(x.values()))).all() for x in losses)
    assert tr.gan.d_updates >= 1  # an untrained D is never "too strong"
    tr.iteration = 2
    tr.save_checkpoint()
    again = Trainer(cfg, resume=True)
    assert again.gan.d_updates == tr.gan.d_updates
    for a, b in zip(tr.gan.disc.state_dict().values(), again.gan.disc.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_stage2_bf16_runs_all_three_networks_in_bf16_and_tracks_fp32(tmp_path, dataset):
    """cpu_bf16 reaches the GAN stage: generator, discriminator and perceptual features convolve in bf16 (the
    discriminator and AlexNet are most of a stage-2 step), every loss stays FP32, and two steps from the same
    seed give the FP32 step's losses to a few per cent."""
    pytest.importorskip("edgevsr.quality.lpips")
    from edgevsr.quality.lpips import resolve_weights

    try:
        resolve_weights()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS AlexNet weights not installed: {exc}")
    losses, dtypes = {}, {}
    for name, fast in (("fp32", False), ("fast", True)):
        cfg = load_config(_config(tmp_path / name, dataset, stage=2, lr=1e-4, gan={"gan_weight": 0.01},
                                  cpu_bf16=fast, channels_last=fast))
        tr = Trainer(cfg)
        seen = []
        convs = [next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
                 for net in (tr.model.srnet, tr.gan.disc, tr.gan.perceptual)]  # FNet also runs in FP32 (D input)
        hooks = [c.register_forward_hook(lambda _m, _i, o, seen=seen: seen.append(o.dtype)) for c in convs]
        losses[name] = [tr.step() for _ in range(2)]
        for h in hooks:
            h.remove()
        dtypes[name] = set(seen)
        assert all(p.dtype == torch.float32 for p in tr.gan.disc.parameters())
        assert tr.gan.disc.conv_in[0].weight.is_contiguous(memory_format=torch.channels_last) == fast
    assert dtypes == {"fp32": {torch.float32}, "fast": {torch.bfloat16}}
    for a, b in zip(losses["fp32"], losses["fast"], strict=True):
        assert all(torch.isfinite(torch.tensor(list(b.values()))))
        for k in ("pixel", "percep", "d_loss"):
            assert abs(a[k] - b[k]) <= 0.05 * abs(a[k]) + 1e-4, (k, a[k], b[k])


def test_stage2_temporal_warped_is_the_gan_steps_temporal_loss(tmp_path, dataset):
    """With ``temporal_warped`` the GAN step's temporal term is the warped loss of the forward pass along the
    generator's own flow (recomputed here from the same weights and batch); without it, the plain loss. With
    ``pingpong_weight`` 0 the step skips the reversed SRNet pass and gets the same forward outputs and warp loss."""
    import copy

    pytest.importorskip("edgevsr.quality.lpips")
    from edgevsr.quality.lpips import resolve_weights

    try:
        resolve_weights()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS AlexNet weights not installed: {exc}")
    for warped, pingpong in ((False, 1.0), (True, 1.0), (True, 0.0)):
        cfg = load_config(_config(tmp_path / f"{warped}{pingpong}", dataset, stage=2, lr=1e-4,
                                  gan={"temporal_weight": 1.0, "temporal_warped": warped,
                                       "pingpong_weight": pingpong}))
        tr = Trainer(cfg)
        drawn, frames = [], []
        draw = tr.batch
        tr.batch = lambda draw=draw, drawn=drawn: drawn.append(draw()) or drawn[-1]  # record the batch used
        hook = tr.model.srnet.register_forward_hook(lambda *_a, frames=frames: frames.append(1))
        before = copy.deepcopy(tr.model)
        losses = tr.step()
        hook.remove()
        got = losses["temporal"]
        lr, hr = drawn[0]
        t = lr.shape[1]
        # without its loss the reversed pass is not run (t frames, not 2t-1): same forward outputs, less work
        assert len(frames) == (2 * t - 1 if pingpong else t) and (pingpong or losses["pingpong"] == 0)
        with torch.no_grad():
            out, flows = unroll(before, torch.cat([lr, lr[:, :-1].flip(1)], 1))
        want = (warped_temporal_loss(out[:, :t], hr, flows[:, :t], 4) if warped
                else temporal_loss(out[:, :t], hr))
        assert got == pytest.approx(float(want), rel=1e-4), (warped, got, float(want))
        # the warp loss trains FNet on the reversed pairs too, with or without the reversed SRNet pass
        pp = torch.cat([lr, lr[:, :-1].flip(1)], 1)
        assert losses["warp"] == pytest.approx(float(warp_loss(pp, flows)), rel=1e-4)


def test_stage2_tof_bound_picks_best_only_among_temporally_stable_checkpoints(tmp_path, dataset):
    cfg = load_config(_config(tmp_path, dataset, stage=2, gan={"tof_tolerance": 0.1, "temporal_weight": 1.0}))
    tr = Trainer.__new__(Trainer)  # the selection rule alone, without building D and the LPIPS trunk
    tr.cfg, tr.gan, tr.reference = cfg, object(), {"tof": 0.5, "tof@a": 0.2, "tof@b": 0.4}
    assert tr.tof_bounded
    assert tr.within_tof_bound({"tof": 0.9, "tof@a": 0.22, "tof@b": 0.44})  # per clip, not the mean
    assert not tr.within_tof_bound({"tof": 0.3, "tof@a": 0.23, "tof@b": 0.1})  # one clip flickers more
    tr.reference = {"tof": 0.5}
    assert tr.within_tof_bound({"tof": 0.55}) and not tr.within_tof_bound({"tof": 0.56})
    # tLP100 (when LPIPS is measured) is bounded the same way, clip by clip
    tr.reference = {"tof@a": 0.2, "tlp100@a": 1.0}
    assert tr.within_tof_bound({"tof@a": 0.2, "tlp100@a": 1.1})
    assert not tr.within_tof_bound({"tof@a": 0.2, "tlp100@a": 1.2})
    # bicubic_bd_bound: also no worse than bicubic-bd on that clip (the temporal gate's second bound)
    row = {"tof@a": 0.2, "tlp100@a": 1.0, "tof_bicubic_bd@a": 0.19, "tlp100_bicubic_bd@a": 2.0}
    assert tr.within_tof_bound(row)
    tr.cfg.gan.bicubic_bd_bound = True
    assert not tr.within_tof_bound(row)
    assert tr.within_tof_bound({**row, "tof_bicubic_bd@a": 0.21})


def test_stage2_bound_weights_measure_the_bound_instead_of_the_initial_weights(tmp_path, dataset):
    """A stage-2 run started from a stage-2 checkpoint is still held to the stage-1 weights' tOF: with
    gan.bound_weights the reference is those weights' validation, the curve's first point the initial weights'."""
    pytest.importorskip("edgevsr.quality.lpips")
    from edgevsr.quality.lpips import resolve_weights
    from edgevsr.train.validate import evaluate
    from edgevsr.weights import file_sha256, load_into, read_state_dict, save_weights

    try:
        resolve_weights()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS AlexNet weights not installed: {exc}")
    torch.manual_seed(3)
    stage1, stage2 = build_model("egvsr-lite"), build_model("egvsr-lite")
    with torch.no_grad():
        for p in stage2.srnet.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_weights(stage1, tmp_path / "s1.safetensors", {})
    save_weights(stage2, tmp_path / "s2.safetensors", {})
    cfg = load_config(_config(tmp_path, dataset, stage=2, init=str(tmp_path / "s2.safetensors"),
                              gan={"tof_tolerance": 0.0, "bound_weights": str(tmp_path / "s1.safetensors")}))
    tr = Trainer(cfg)
    tr.request_stop()  # the initial validation alone
    tr.fit()
    load_into(stage1, read_state_dict(tmp_path / "s1.safetensors"), "s1")  # as stored (float16)
    want = evaluate(stage1.eval(), tr.val_clips, tr.device, tr.scorer)
    assert tr.reference["tof@held"] == pytest.approx(want["tof@held"], rel=1e-5)
    first = list(csv.DictReader(open(tmp_path / "run" / "val.csv")))[0]
    assert float(first["tof@held"]) != pytest.approx(want["tof@held"], rel=1e-3)  # the initial (stage-2) weights'
    start = json.loads((tmp_path / "run" / "start.json").read_text())
    assert start["bound_weights_sha256"] == file_sha256(str(tmp_path / "s1.safetensors"))
    # bound.json: the bound in a readable file, since val.csv's first row is not it
    bound = json.loads((tmp_path / "run" / "bound.json").read_text())
    assert bound == {"source": str(tmp_path / "s1.safetensors"), **tr.reference}
    assert bound["iteration"] == 0 and bound["tof@held"] == pytest.approx(want["tof@held"], rel=1e-5)
    # a run started before bound.json gets it on resume, from the checkpoint's reference and config
    (tmp_path / "run" / "bound.json").unlink()
    Trainer(cfg, resume=True)
    assert json.loads((tmp_path / "run" / "bound.json").read_text()) == bound
    # a new run over it (--overwrite) removes it with the other run files: it would bound the wrong run
    Trainer(load_config(_config(tmp_path, dataset)), overwrite=True)
    assert not (tmp_path / "run" / "bound.json").exists()
    # killed before its first validation, then resumed: the bound is still the bound weights', read on resume
    early = Trainer(cfg, overwrite=True)
    early.save_checkpoint()
    again = Trainer(cfg, resume=True)
    again.request_stop()
    again.fit()
    assert again.reference["tof@held"] == pytest.approx(want["tof@held"], rel=1e-5)
    assert json.loads((tmp_path / "run" / "bound.json").read_text())["source"] == str(tmp_path / "s1.safetensors")
    with pytest.raises(EdgeVSRError, match="bound_weights"):  # only where a bound is selected on
        load_config(_config(tmp_path / "x", dataset, stage=2, gan={"bound_weights": "s1.safetensors"}))


def test_stage2_bound_weights_are_checked_at_start_and_on_resume(tmp_path, dataset):
    """gan.bound_weights of another model fails before the data loads; a resume refuses a config that adds or drops
    it (the card and bound.json would name weights that did not bound the run) and, killed before the first
    validation, a bound file replaced since start.json hashed it; loading it leaves the training's RNG alone."""
    from edgevsr.weights import save_weights

    torch.manual_seed(3)
    save_weights(build_model("egvsr-lite"), tmp_path / "s1.safetensors", {})
    save_weights(build_model("egvsr"), tmp_path / "big.safetensors", {})
    s1 = str(tmp_path / "s1.safetensors")
    with pytest.raises(EdgeVSRError, match="do not match"):
        Trainer(load_config(_config(tmp_path / "a", dataset, stage=2, init=s1,
                                    gan={"tof_tolerance": 0.0, "bound_weights": str(tmp_path / "big.safetensors")})))
    states = []
    for sub, gan in (("p", {"tof_tolerance": 0.0}), ("b", {"tof_tolerance": 0.0, "bound_weights": s1})):
        tr = Trainer(load_config(_config(tmp_path / sub, dataset, stage=2, init=s1, gan=gan)))
        tr.request_stop()
        tr.fit()
        states.append(torch.get_rng_state())
    assert torch.equal(*states)  # the bound model's random init drew from the training's RNG
    plain = load_config(_config(tmp_path / "c", dataset, stage=2, init=s1, run_dir=str(tmp_path / "b" / "run"),
                                gan={"tof_tolerance": 0.0}))
    with pytest.raises(EdgeVSRError, match="resume with the run's gan.bound_weights"):
        Trainer(plain, resume=True)
    cfg = load_config(_config(tmp_path / "b", dataset, stage=2, init=s1, gan={"tof_tolerance": 0.0,
                                                                              "bound_weights": s1}))
    Trainer(cfg, overwrite=True).save_checkpoint()  # killed before its first validation
    torch.manual_seed(4)
    save_weights(build_model("egvsr-lite"), tmp_path / "s1.safetensors", {})
    with pytest.raises(EdgeVSRError, match="changed since the run started"):
        Trainer(cfg, resume=True)


def test_windowed_model_trains_with_its_flow_loss(tmp_path, dataset):
    """SOF-VSR (windowed) trains through the same command: inference windows + its own flow loss."""
    tr = Trainer(load_config(_config(tmp_path, dataset, model="sofvsr", warp_weight=0.01, iterations=1)))
    torch.manual_seed(2)
    fixed = tr.batch()
    tr.batch = lambda: fixed
    first = tr.step()
    for _ in range(6):
        last = tr.step()
    assert first["warp"] > 0 and last["pixel"] < first["pixel"], (first, last)


def test_flow_teacher_curriculum_and_time_limit_in_a_run(tmp_path, dataset):
    cfg = load_config(_config(tmp_path, dataset, iterations=10**6, flow_teacher_weight=0.05, flow_teacher_until=3,
                              time_limit_minutes=0.03, log_every=1,
                              data={"root": str(dataset), "window": 3, "crop": 32, "batch": 2, "val_clips": ["held"],
                                    "val_frames": 4, "curriculum": [{"start": 2, "window": 4, "crop": 32,
                                                                     "batch": 1}]}))
    trainer = Trainer(cfg)
    assert trainer.batch()[1].shape == (2, 3, 3, 32, 32)
    trainer.fit()
    assert 3 < trainer.iteration < 10**6  # stopped by the time limit, not the iteration count
    assert trainer.batch()[1].shape == (1, 4, 3, 32, 32)
    import csv

    rows = list(csv.DictReader(open(tmp_path / "run" / "train.csv")))
    assert rows[0]["teacher"] and not rows[-1]["teacher"]  # taught early, then joint training without it
    val = list(csv.DictReader(open(tmp_path / "run" / "val.csv")))
    assert val[-1]["warp_err@held"] and float(val[-1]["warp_err_zero"]) > 0


def test_unroll_with_detached_flow_gives_the_same_outputs_and_no_pixel_gradient_to_fnet():
    torch.manual_seed(0)
    model = build_model("egvsr-lite")
    from edgevsr.train.flow_teacher import fresh_fnet

    fresh_fnet(model)
    lr = torch.rand(1, 3, 3, 16, 16)
    out, flows = unroll(model, lr, detach_flow=True)
    ref, ref_flows = unroll(model, lr)
    assert torch.allclose(out, ref) and torch.allclose(flows, ref_flows)
    out.mean().backward()
    assert model.fnet.flow[2].weight.grad is None or float(model.fnet.flow[2].weight.grad.abs().max()) == 0
    assert float(model.srnet.conv_out.weight.grad.abs().max()) > 0


def test_ship_last_checkpoint_instead_of_best(tmp_path, dataset):
    from edgevsr.train.ship import ship

    trainer = Trainer(load_config(_config(tmp_path, dataset, iterations=3, val_every=2)))
    trainer.fit()
    best = yaml.safe_load(ship(trainer.run_dir, "b", output=tmp_path / "s", frames=2).with_suffix(".json").read_text())
    last = yaml.safe_load(ship(trainer.run_dir, "l", output=tmp_path / "s", frames=2, last=True)
                          .with_suffix(".json").read_text())
    assert best["iterations"] == 2 and "best" in best["selected"]
    assert last["iterations"] == 3 and "last checkpoint (iteration 3)" in last["selected"]
    (trainer.run_dir / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(EdgeVSRError, match="last.pt: cannot read checkpoint"):
        ship(trainer.run_dir, "x", output=tmp_path / "s", frames=2, last=True)


def test_best_json_names_the_best_safetensors_it_was_written_with(tmp_path, dataset):
    """best.safetensors and best.json are two renames: a run stopped between them left a best.json describing
    another checkpoint, and ship / candidate labelled the weights with its iteration. best.json records the
    file's SHA-256; a mismatch is one line. val.png is drawn through a temp (no partial file beside it)."""
    import shutil

    from edgevsr.train.candidate import main as candidate
    from edgevsr.train.ship import ship
    from edgevsr.weights import file_sha256

    cfg = load_config(_config(tmp_path, dataset, val_every=1, keep_validated=True))
    tr = Trainer(cfg)
    tr.fit(2)
    run = Path(cfg.run_dir)
    info = json.loads((run / "best.json").read_text())
    assert info["safetensors_sha256"] == file_sha256(run / "best.safetensors")
    assert sorted(p.name for p in run.iterdir() if "val.png" in p.name) == ["val.png"]
    other = {1: 2, 2: 1}[info["iteration"]]
    shutil.copyfile(run / "validated" / f"{other}.safetensors", run / "best.safetensors")  # the other checkpoint
    with pytest.raises(EdgeVSRError, match="best.json: describes another best.safetensors"):
        ship(run, "x", output=tmp_path / "s", frames=2)
    assert candidate([str(run), str(tmp_path / "c.safetensors")]) == 2
    assert not (tmp_path / "c.safetensors").exists()
    del info["safetensors_sha256"]  # a run from before the record: read as it was
    (run / "best.json").write_text(json.dumps(info))
    assert candidate([str(run), str(tmp_path / "c.safetensors")]) == 0


def test_ship_and_candidate_refuse_damaged_or_planted_run_files_in_one_line(tmp_path, dataset):
    """A generator put in validated/ by hand (or a link there) is no validation of the run; a config.yaml,
    start.json or best.json that is damaged is one line naming it, not an internal error."""
    import shutil

    from edgevsr.train.ship import ship

    cfg = load_config(_config(tmp_path, dataset, val_every=1, keep_validated=True))
    Trainer(cfg).fit(2)
    run = Path(cfg.run_dir)
    out = tmp_path / "s"
    shutil.copyfile(run / "validated" / "1.safetensors", run / "validated" / "6.safetensors")
    with pytest.raises(EdgeVSRError, match="val.csv: no validation at iteration 6"):
        ship(run, "x", output=out, frames=2, iteration=6)
    (run / "validated" / "6.safetensors").unlink()
    (run / "validated" / "2.safetensors").rename(tmp_path / "2.safetensors")
    (run / "validated" / "2.safetensors").symlink_to(tmp_path / "2.safetensors")
    with pytest.raises(EdgeVSRError, match="2.safetensors: not a regular file"):
        ship(run, "x", output=out, frames=2, iteration=2)
    info = json.loads((run / "best.json").read_text())
    (run / "best.json").write_text(json.dumps({**info, "iteration": "2"}))
    with pytest.raises(EdgeVSRError, match="best.json: iteration is '2'"):
        ship(run, "x", output=out, frames=2)
    (run / "best.json").write_text(json.dumps(info))
    for name, text, message in [("start.json", '{"init', "start.json: cannot read: not JSON"),
                                ("config.yaml", "created: 2001-13-45\n", "config.yaml: cannot read"),
                                ("config.yaml", "", "config.yaml: not a mapping")]:
        saved = (run / name).read_text()
        (run / name).write_text(text)
        with pytest.raises(EdgeVSRError, match=message):
            ship(run, "x", output=out, frames=2, iteration=1)
        (run / name).write_text(saved)
    assert not out.exists() or not any(out.iterdir())


def test_warm_started_run_scores_its_start_records_the_donor_and_resumes_without_it(tmp_path, dataset):
    import hashlib
    import json

    from safetensors.torch import save_file

    torch.manual_seed(0)
    donor = tmp_path / "egvsr.safetensors"
    save_file(build_model("egvsr").state_dict(), str(donor))
    cfg = load_config(_config(tmp_path, dataset, model="frvsr", warm_start=str(donor), iterations=1,
                              val_every=1))
    tr = Trainer(cfg)
    out = tr.model.srnet.conv_out
    assert not out.weight.any() and not out.bias.any()  # the fresh head feeds a zero residual
    tr.fit()
    rows = (tr.run_dir / "val.csv").read_text().splitlines()
    assert rows[1].startswith("0,")  # iteration 0: the warm-started weights, before any step
    start = json.loads((tr.run_dir / "start.json").read_text())
    assert start["warm_start_sha256"] == hashlib.sha256(donor.read_bytes()).hexdigest()
    donor.unlink()  # resume needs only last.pt
    again = Trainer(cfg, resume=True)
    assert again.iteration == 1
    assert json.loads((tr.run_dir / "start.json").read_text()) == start
    from edgevsr.train.ship import ship

    card = json.loads(ship(tr.run_dir, "t", output=tmp_path / "s", frames=2, as_model="tecogan")
                      .with_suffix(".json").read_text())
    assert card["model"] == "tecogan" and card["trained_as"] == "frvsr"
    assert card["warm_start_sha256"] == start["warm_start_sha256"]  # from start.json: the donor is gone
    with pytest.raises(EdgeVSRError, match="'egvsr' is not the same generator"):
        ship(tr.run_dir, "e", output=tmp_path / "s", frames=2, as_model="egvsr")


def test_frozen_fnet_keeps_its_flow_while_srnet_learns(tmp_path, dataset):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    start = tmp_path / "start.safetensors"
    save_file(build_model("egvsr-lite").state_dict(), str(start))
    tr = Trainer(load_config(_config(tmp_path, dataset, init=str(start), freeze_fnet=True, iterations=2)))
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.fit()
    after = tr.model.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before if k.startswith("fnet."))
    assert not torch.equal(after["srnet.conv_in.0.weight"], before["srnet.conv_in.0.weight"])
    with pytest.raises(EdgeVSRError, match="freeze_fnet keeps the loaded FNet"):
        load_config(_config(tmp_path, dataset, init=str(start), freeze_fnet=True, flow_teacher_weight=0.1))
    with pytest.raises(EdgeVSRError, match="not a random one"):
        load_config(_config(tmp_path, dataset, freeze_fnet=True))


@pytest.mark.parametrize("model", ["egvsr-lite", "rrn-lite"])
def test_bf16_channels_last_step_tracks_fp32_and_saves_plain_weights(tmp_path, dataset, model):
    """cpu_bf16 + channels_last (the fast CPU step) must learn the same thing as FP32 and write ordinary files."""
    runs, losses, start = {}, {}, None
    for name, fast in (("fp32", False), ("fast", True)):
        cfg = load_config(_config(tmp_path / name, dataset, model=model, cpu_bf16=fast, channels_last=fast))
        tr = Trainer(cfg)
        conv = next(p for p in tr.model.parameters() if p.dim() == 4 and p.shape[-1] > 1)
        assert conv.is_contiguous(memory_format=torch.channels_last) == fast
        if start is None:  # both runs start from the same seeded weights
            start = torch.cat([p.detach().flatten().clone() for p in tr.model.parameters()])
        losses[name] = [tr.step()["loss"] for _ in range(2)]
        tr.iteration = 2
        tr.save_checkpoint()
        tr._save_best(tr.model)
        runs[name] = tr
    for a, b in zip(losses["fp32"], losses["fast"], strict=True):  # same seed, same batches
        assert abs(a - b) <= 0.02 * a, losses
    moved = {n: torch.cat([p.detach().flatten() for p in t.model.parameters()]) - start for n, t in runs.items()}
    assert torch.cosine_similarity(moved["fp32"], moved["fast"], dim=0) > 0.9  # the same direction of descent
    from safetensors.torch import load_file

    saved = load_file(str(runs["fast"].run_dir / "best.safetensors"))
    assert all(v.is_contiguous() for v in saved.values())
    resumed = Trainer(load_config(_config(tmp_path / "fast", dataset, model=model, cpu_bf16=True,
                                          channels_last=True)), resume=True)
    assert resumed.iteration == 2


def test_mixed_precision_is_bfloat16_never_float16_without_loss_scaling(monkeypatch):
    """amp on CUDA: bfloat16 (FP32's exponent range). A mean loss over a batch's millions of pixels gives every
    activation a gradient of ~1e-7, inside float16's subnormal range: without loss scaling float16 flushes most of
    them to zero and the generator stops learning. A GPU without bfloat16 trains in FP32."""
    from edgevsr.train.trainer import autocast_dtype

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_a: (9, 0))
    assert autocast_dtype(cuda, amp=True, cpu_bf16=False) == torch.bfloat16
    assert autocast_dtype(cuda, amp=False, cpu_bf16=True) is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_a: (7, 5))  # Turing: no bfloat16
    assert autocast_dtype(cuda, amp=True, cpu_bf16=False) is None
    assert autocast_dtype(cpu, amp=True, cpu_bf16=False) is None
    assert autocast_dtype(cpu, amp=True, cpu_bf16=True) == torch.bfloat16



def test_a_new_run_never_mixes_with_an_old_one(tmp_path, dataset):
    """Without --resume, a run folder that holds a run is refused (its curve would get a second one appended and
    its checkpoint replaced); --overwrite removes the run's files (only those) and starts afresh."""
    cfg = load_config(_config(tmp_path, dataset, val_every=1))
    Trainer(cfg).fit(2)
    run = Path(cfg.run_dir)
    (run / "notes.txt").write_text("mine")
    before = (run / "last.pt").read_bytes()
    with pytest.raises(EdgeVSRError, match=r"holds a training run .*--resume continues it, --overwrite"):
        Trainer(cfg)
    assert (run / "last.pt").read_bytes() == before
    fresh = Trainer(cfg, overwrite=True)
    assert not (run / "last.pt").exists() and (run / "notes.txt").read_text() == "mine"
    fresh.fit(1)
    rows = list(csv.DictReader(open(run / "val.csv")))
    assert [int(r["iteration"]) for r in rows] == [1]
    (tmp_path / "file").write_text("x")
    with pytest.raises(EdgeVSRError, match="exists and is not a folder"):
        Trainer(load_config(_config(tmp_path / "f", dataset, run_dir=str(tmp_path / "file"))))
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")  # mkdir's "File exists", after the loading
    with pytest.raises(EdgeVSRError, match="broken symbolic link"):
        Trainer(load_config(_config(tmp_path / "f", dataset, run_dir=str(tmp_path / "dangling"))))


def test_keep_validated_keeps_every_validated_generator_and_overwrite_removes_only_those(tmp_path, dataset):
    """keep_validated: each validation's generator as validated/N.safetensors (best.safetensors is only the rule's
    pick; a stage-2 line no checkpoint passes otherwise keeps the last weights alone). --overwrite removes those
    files, not what the user put beside them; the candidate tool keeps one of them with its val.csv row."""
    from edgevsr.train.candidate import main as candidate
    from edgevsr.train.ship import ship
    from edgevsr.weights import load_into, read_state_dict

    cfg = load_config(_config(tmp_path, dataset, val_every=1, keep_validated=True))
    tr = Trainer(cfg)
    tr.fit(2)
    run = Path(cfg.run_dir)
    kept = sorted(p.name for p in (run / "validated").iterdir())
    assert kept == ["1.safetensors", "2.safetensors"]
    one, two = (read_state_dict(run / "validated" / n) for n in kept)
    assert any(not torch.equal(one[k], two[k]) for k in one)  # each validation's own weights
    model = build_model("egvsr-lite")
    load_into(model, two, "2")  # loads as the run's model
    assert all(torch.equal(two[k], v.float()) for k, v in tr.model.state_dict().items() if k in two)
    out = tmp_path / "cand.safetensors"
    assert candidate([str(run), str(out), "--iteration", "1"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    row = list(csv.DictReader(open(run / "val.csv")))[0]
    assert card["iteration"] == 1 and card["best_validation"]["psnr_y"] == pytest.approx(float(row["psnr_y"]))
    assert all(torch.equal(v, one[k].half()) for k, v in read_state_dict(out).items())
    shipped = ship(run, "one", output=tmp_path / "s", frames=2, iteration=1)  # ship-weights --iteration
    assert "validated at iteration 1" in json.loads(shipped.with_suffix(".json").read_text())["selected"]
    assert all(torch.equal(v, one[k].half()) for k, v in read_state_dict(shipped).items())
    for bad in ({"iteration": 7}, {"iteration": 1, "last": True}):
        with pytest.raises(EdgeVSRError):
            ship(run, "bad", output=tmp_path / "s", frames=2, **bad)
    (run / "validated" / "\u00b2.safetensors").write_bytes(b"")  # str.isdigit() takes it, int() does not
    assert candidate([str(run), str(out), "--iteration", "7"]) == 2  # not validated there: one line
    assert candidate([str(run), str(out), "--iteration", "1", "--last"]) == 2
    (run / "validated" / "mine.txt").write_text("mine")
    Trainer(cfg, overwrite=True)
    assert sorted(p.name for p in (run / "validated").iterdir()) == ["mine.txt", "\u00b2.safetensors"]
    (run / "validated" / "mine.txt").unlink()
    (run / "validated" / "\u00b2.safetensors").unlink()
    (run / "validated").rmdir()
    (run / "validated").write_text("a file where the folder goes")  # refused before minutes of loading
    with pytest.raises(EdgeVSRError, match="validated: keep_validated writes a folder"):
        Trainer(cfg, overwrite=True)


def test_bound_json_is_a_run_file(tmp_path):
    """bound.json (stage 2's tOF bound) marks a run folder like the other run files and --overwrite removes it:
    left behind, a figure would judge the new run against the old run's bound."""
    from edgevsr.train.trainer import check_run_dir

    (tmp_path / "bound.json").write_text("{}")
    with pytest.raises(EdgeVSRError, match="holds a training run"):
        check_run_dir(tmp_path, resume=False, overwrite=False)
    assert check_run_dir(tmp_path, resume=False, overwrite=True) == ["bound.json"]


def test_overwrite_never_removes_what_a_run_did_not_write(tmp_path, dataset):
    cfg = load_config(_config(tmp_path, dataset))
    run = Path(cfg.run_dir)
    run.mkdir()
    os.mkfifo(run / "last.pt")
    (run / "val.png").mkdir()
    with pytest.raises(EdgeVSRError, match=r"last.pt: is not a regular file"):
        Trainer(cfg, overwrite=True)
    assert (run / "last.pt").exists() and (run / "val.png").is_dir()
    (run / "last.pt").unlink()
    with pytest.raises(EdgeVSRError, match=r"val.png: is not a regular file"):
        Trainer(cfg, overwrite=True)
    assert (run / "val.png").is_dir()


def test_a_run_that_fails_to_load_leaves_no_folder_and_keeps_the_old_run(tmp_path, dataset):
    """The run folder is taken only once config, weights and data have loaded: a bad data root leaves no empty
    folder behind, and --overwrite with an unreadable init clears nothing of the run it would have replaced."""
    cfg = load_config(_config(tmp_path, dataset, data={"root": str(tmp_path / "missing"), "val_clips": ["held"]}))
    with pytest.raises(EdgeVSRError):
        Trainer(cfg)
    assert not Path(cfg.run_dir).exists()
    good = load_config(_config(tmp_path / "g", dataset))
    Trainer(good).fit(1)
    run = Path(good.run_dir)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    (tmp_path / "bad.safetensors").write_bytes(b"not weights")
    bad = load_config(_config(tmp_path / "g", dataset, init=str(tmp_path / "bad.safetensors")))
    with pytest.raises(EdgeVSRError):
        Trainer(bad, overwrite=True)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@pytest.mark.parametrize("key", ["init", "warm_start"])
def test_overwrite_refuses_to_start_from_a_file_it_would_remove(tmp_path, dataset, key):
    """--overwrite with init (or warm_start) naming the run's own best.safetensors, directly or through a link:
    the run would load it, then delete it as an old run file and replace it, losing the weights it started
    from. Refused before anything is loaded or removed."""
    from safetensors.torch import save_file

    good = load_config(_config(tmp_path, dataset))
    Trainer(good).fit(1)
    run = Path(good.run_dir)
    save_file({k: v.contiguous() for k, v in build_model("egvsr-lite").state_dict().items()},
              str(run / "best.safetensors"))
    (tmp_path / "link.safetensors").symlink_to(run / "best.safetensors")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    for given in (run / "best.safetensors", tmp_path / "link.safetensors"):
        cfg = load_config(_config(tmp_path, dataset, **{key: str(given)}))
        with pytest.raises(EdgeVSRError, match="which --overwrite removes"):
            Trainer(cfg, overwrite=True)
        assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    Trainer(load_config(_config(tmp_path, dataset, **{key: str(run / "best.safetensors")})), resume=True)


def test_train_cli_refuses_an_existing_run_in_one_line(tmp_path, dataset):
    import subprocess
    import sys

    cfg = _config(tmp_path, dataset)
    Trainer(load_config(cfg)).fit(1)
    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "train", "--config", str(cfg)],
                       capture_output=True, text=True, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "holds a training run" in r.stderr
    r = subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "train", "--config", str(cfg), "--resume",
                        "--overwrite"], capture_output=True, text=True)
    assert r.returncode == 2 and "pick one" in r.stderr


def test_csv_append_rewrites_a_header_only_file_whose_columns_changed(tmp_path):
    path = tmp_path / "val.csv"
    path.write_text("iteration,psnr_y\n")
    Trainer._append_csv(path, {"iteration": 3, "psnr_y": 30.0, "time": 1.5})
    rows = list(csv.DictReader(open(path)))
    assert rows == [{"iteration": "3", "psnr_y": "30.0", "time": "1.5"}]


def test_run_files_are_replaced_whole_never_cut_short(tmp_path, dataset, monkeypatch):
    """best.json, start.json, config.yaml and a val.csv/train.csv whose columns change were rewritten in place: a
    write stopped halfway (a kill, a full disk) left them cut short for the resumed run, ship and candidate to read.
    Now the old file stays whole, a new one is not left half-written, and no temp is left."""
    cfg = load_config(_config(tmp_path, dataset, val_every=1))
    tr = Trainer(cfg)
    tr.fit(1)
    run = tr.run_dir
    texts = ("best.json", "start.json", "config.yaml", "val.csv", "train.csv")
    before = {name: (run / name).read_bytes() for name in texts}

    def half_then_fail(self, data, *args, **kwargs):  # what a kill or a full disk leaves of a write
        with open(self, "w") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(EdgeVSRError, match="best.json: write failed"):
        tr._save_best(tr.model)
    for name in ("val.csv", "train.csv"):  # a resumed run with a new metric rewrites the header
        with pytest.raises(EdgeVSRError, match=f"{name}: write failed"):
            Trainer._append_csv(run / name, {"iteration": 2, "new_metric": 1.0})
    with pytest.raises(EdgeVSRError, match="config.yaml: write failed"):
        Trainer(cfg, resume=True)
    assert {name: (run / name).read_bytes() for name in texts} == before
    with pytest.raises(EdgeVSRError, match="start.json: write failed"):
        Trainer(cfg, overwrite=True)  # the old run's files are gone: the new start.json must not be half of one
    assert not (run / "start.json").exists()
    assert not [p.name for p in run.iterdir() if ".partial" in p.name]


def test_resume_replaces_a_linked_config_yaml_and_leaves_its_target(tmp_path, dataset):
    """--resume rewrites config.yaml; when it is a link (to the user's own config) the link is replaced by the
    run's file: written through the link, the user's file lost its comments and layout."""
    cfg_path = _config(tmp_path, dataset)
    Trainer(load_config(cfg_path)).fit(1)
    run = tmp_path / "run"
    mine = tmp_path / "mine.yaml"
    mine.write_text("# my notes\n" + cfg_path.read_text())
    (run / "config.yaml").unlink()
    (run / "config.yaml").symlink_to(mine)
    Trainer(load_config(cfg_path), resume=True)
    assert mine.read_text().startswith("# my notes\n")
    assert not (run / "config.yaml").is_symlink()
    assert yaml.safe_load((run / "config.yaml").read_text())["model"] == "egvsr-lite"


def test_ship_default_rewrites_the_other_cards_whole(tmp_path, monkeypatch):
    """ship-weights --default clears ``default`` on the model's other cards: rewritten in place, a write stopped
    halfway left a shipped card cut short. Now a failed write keeps the card whole and leaves no temp."""
    from edgevsr.train.ship import clear_default

    old = {"model": "egvsr-lite", "default": True, "sha256": "ab" * 32}
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "other.json").write_text(json.dumps({"model": "egvsr", "default": True}))
    clear_default(tmp_path, "new", "egvsr-lite")
    assert json.loads((tmp_path / "old.json").read_text()) == {**old, "default": False}
    assert json.loads((tmp_path / "other.json").read_text())["default"] is True
    (tmp_path / "old.json").write_text(json.dumps(old))
    before = (tmp_path / "old.json").read_bytes()

    def half_then_fail(self, data, *args, **kwargs):
        with open(self, "w") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(EdgeVSRError, match="old.json: write failed"):
        clear_default(tmp_path, "new", "egvsr-lite")
    assert (tmp_path / "old.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json", "other.json"]


def test_kind_share_reaches_the_sampler_and_a_kind_not_in_the_data_is_refused(tmp_path, dataset):
    """data.kind_share is the training sampler's: a share for a kind the training set lacks is a one-line error
    naming the data root before any step (the fixture holds one video clip)."""
    data = {"root": str(dataset), "window": 3, "crop": 32, "batch": 2, "val_clips": ["held"], "val_frames": 4}
    tr = Trainer(load_config(_config(tmp_path / "a", dataset, data={**data, "kind_share": {"video": 1.0}})))
    assert tr.sampler.weights.tolist() == [1.0]
    bad = _config(tmp_path / "b", dataset, data={**data, "kind_share": {"video": 0.5, "synthetic": 0.5}})
    with pytest.raises(EdgeVSRError, match=f"{dataset}: kind_share .* no other"):
        Trainer(load_config(bad))
