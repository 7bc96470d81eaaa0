"""EMA of the generator's weights in training: the average itself, validation of both, checkpoints, resume."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.train.config import load_config
from edgevsr.train.ema import WeightAverage, effective_decay
from edgevsr.train.trainer import Trainer
from edgevsr.train.validate import evaluate
from tests.test_train import _config, dataset  # noqa: F401  (the module-scoped tiny dataset fixture)


class _Log:
    def __init__(self):
        self.lines: list[str] = []

    def print(self, text, **_kw):
        self.lines.append(text)


def _ema(tmp_path: Path, data: Path, resume: bool = False, console=None, **extra) -> Trainer:
    return Trainer(load_config(_config(tmp_path, data, **{"ema_decay": 0.9, **extra})), resume=resume,
                   console=console)


def test_average_math_warm_up_buffers_and_layout():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    net.to(memory_format=torch.channels_last)
    p0 = {k: v.clone() for k, v in net.state_dict().items()}
    ema = WeightAverage(net, 0.9)
    for _ in range(5):  # weights that do not move: the average is exactly them
        ema.update(net)
    assert all(torch.equal(ema.state[k], p0[k]) for k in p0) and ema.updates == 5
    assert ema.state["0.weight"].is_contiguous(memory_format=torch.channels_last)  # the model's layout

    ema = WeightAverage(net, 0.9)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(3.0)
        net[1].num_batches_tracked.fill_(7)
    p1 = {k: v.clone() for k, v in net.state_dict().items()}
    assert effective_decay(0.9, 0) == pytest.approx(0.1) and effective_decay(0.9, 10**6) == 0.9
    ema.update(net)  # first update: decay 1/10, not 0.9
    w = "0.weight"
    assert torch.allclose(ema.state[w], 0.1 * p0[w] + 0.9 * p1[w], atol=1e-6)
    assert torch.equal(ema.state["1.running_mean"], p1["1.running_mean"])  # buffers copied, not averaged
    assert int(ema.state["1.num_batches_tracked"]) == 7
    for _ in range(19):
        ema.update(net)
    left = torch.tensor([effective_decay(0.9, n) for n in range(20)], dtype=torch.float64).prod().item()
    assert torch.allclose(ema.state[w], p1[w] + left * (p0[w] - p1[w]), atol=1e-6)
    assert ema.state[w].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("value", [1.0, -0.1])
def test_ema_decay_out_of_range_is_refused_in_one_line(tmp_path, dataset, value):  # noqa: F811
    with pytest.raises(EdgeVSRError, match=r"ema_decay must be >= 0 and < 1") as err:
        load_config(_config(tmp_path, dataset, ema_decay=value))
    assert "\n" not in str(err.value)


def test_validation_measures_the_average_and_the_raw_weights_and_leaves_training_untouched(tmp_path, dataset):  # noqa: F811
    tr = _ema(tmp_path, dataset)
    for _ in range(3):
        tr.step()
    tr.iteration = 3
    assert tr.ema.updates == 3
    model = {k: v.clone() for k, v in tr.model.state_dict().items()}
    opt = copy.deepcopy(tr.opt.state_dict())
    avg = {k: v.clone() for k, v in tr.ema.state.items()}
    assert not all(torch.equal(avg[k], model[k]) for k in model)  # the average differs from the weights
    rng = torch.get_rng_state()
    row = tr.validate()
    assert torch.equal(torch.get_rng_state(), rng)  # building the second generator drew no random numbers
    assert all(torch.equal(tr.model.state_dict()[k], v) for k, v in model.items())
    after = tr.opt.state_dict()
    for i, s in opt["state"].items():
        assert all(torch.equal(after["state"][i][k], v) for k, v in s.items())
    assert after["param_groups"] == opt["param_groups"]
    assert all(torch.equal(tr.ema.state[k], v) for k, v in avg.items()) and tr.ema.updates == 3
    assert tr.model.training  # still in training mode

    raw = evaluate(tr.model, tr.val_clips, tr.device, tr.scorer)
    assert row["raw_psnr_y"] == pytest.approx(raw["psnr_y"]) and row["raw_tof"] == pytest.approx(raw["tof"])
    assert row["psnr_y"] != pytest.approx(raw["psnr_y"], abs=1e-6)  # the selected model is not the raw one
    from safetensors.torch import load_file

    best = load_file(str(tr.run_dir / "best.safetensors"))
    assert all(torch.equal(best[k], avg[k].float()) for k in avg)  # the average is what is saved as best
    assert json.loads((tr.run_dir / "best.json").read_text())["weights"] == "ema"
    rows = list(csv.DictReader(open(tr.run_dir / "val.csv")))
    assert float(rows[0]["raw_psnr_y"]) == pytest.approx(raw["psnr_y"]) and rows[0]["raw_tof"]

    from edgevsr.train.candidate import write_candidate

    card = write_candidate(tr.run_dir, tmp_path / "cand.safetensors")
    cand = load_file(str(tmp_path / "cand.safetensors"))
    assert card["best_validation"]["weights"] == "ema"
    assert all(torch.equal(cand[k], avg[k].half()) for k in avg)
    # --last: the last checkpoint's average, also without a best.safetensors (a stage-2 run nothing passed yet)
    tr.step()
    tr.iteration += 1
    tr.save_checkpoint()
    (tr.run_dir / "best.safetensors").unlink()
    card = write_candidate(tr.run_dir, tmp_path / "cand.safetensors", last=True)
    cand = load_file(str(tmp_path / "cand.safetensors"))
    assert card["iteration"] == tr.iteration and card["best_validation"]["weights"] == "ema"
    assert all(torch.equal(cand[k], v.half()) for k, v in tr.ema.state.items())
    with pytest.raises(EdgeVSRError, match="--last keeps its last checkpoint"):
        write_candidate(tr.run_dir, tmp_path / "cand.safetensors")
    # the candidate never lands in the run it comes from: RUN/last.pt as output replaced the resume point
    before = (tr.run_dir / "last.pt").read_bytes()
    with pytest.raises(EdgeVSRError, match="inside the input folder"):
        write_candidate(tr.run_dir, tr.run_dir / "cand.safetensors", last=True)
    with pytest.raises(EdgeVSRError, match="written as safetensors"):
        write_candidate(tr.run_dir, tr.run_dir / "last.pt", last=True)
    assert (tr.run_dir / "last.pt").read_bytes() == before


def test_raw_validation_can_be_skipped_and_no_ema_changes_nothing(tmp_path, dataset):  # noqa: F811
    tr = _ema(tmp_path / "a", dataset, ema_validate_raw=False)
    tr.step()
    row = tr.validate()
    assert not any(k.startswith("raw_") for k in row)
    plain = Trainer(load_config(_config(tmp_path / "b", dataset)))
    assert plain.ema is None
    plain.step()
    row = plain.validate()
    assert not any(k.startswith("raw_") for k in row)
    assert "weights" not in json.loads((plain.run_dir / "best.json").read_text())


def test_resume_restores_the_average_exactly_and_continues_as_one_run(tmp_path, dataset):  # noqa: F811
    straight = _ema(tmp_path / "a", dataset, val_every=2)
    straight.fit(3)
    first = _ema(tmp_path / "b", dataset, val_every=2)
    first.fit(2)  # validates at 2, then checkpoints
    resumed = _ema(tmp_path / "b", dataset, resume=True, val_every=2)
    assert resumed.iteration == 2 and resumed.ema.updates == first.ema.updates == 2
    for k, v in first.ema.state.items():
        assert torch.equal(resumed.ema.state[k], v), k
    resumed.fit(3)
    for k, v in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[k], v), k
    for k, v in straight.ema.state.items():
        assert torch.equal(resumed.ema.state[k], v), k
    assert resumed.ema.updates == 3


def test_checkpoint_without_an_average_resumes_with_it_starting_from_the_weights(tmp_path, dataset):  # noqa: F811
    Trainer(load_config(_config(tmp_path, dataset))).fit(2)  # no EMA: last.pt has none
    log = _Log()
    tr = _ema(tmp_path, dataset, resume=True, console=log)
    assert tr.iteration == 2 and tr.ema.updates == 0
    assert all(torch.equal(tr.ema.state[k], v) for k, v in tr.model.state_dict().items())
    assert sum("no weight average in the checkpoint" in line for line in log.lines) == 1
    tr.fit(3)
    assert tr.ema.updates == 1
    state = torch.load(tr.checkpoint_path, weights_only=True)
    assert int(state["ema_updates"]) == 1 and set(state["ema"]) == set(tr.model.state_dict())


def test_resume_with_the_average_turned_off_says_it_is_dropped(tmp_path, dataset):  # noqa: F811
    _ema(tmp_path, dataset).fit(2)
    log = _Log()
    tr = Trainer(load_config(_config(tmp_path, dataset)), resume=True, console=log)
    assert tr.ema is None and tr.iteration == 2
    assert sum("weight average is dropped" in line for line in log.lines) == 1


def test_channels_last_average_keeps_the_layout_and_saves_plain_weights(tmp_path, dataset):  # noqa: F811
    tr = _ema(tmp_path, dataset, channels_last=True)
    tr.step()
    conv = next(k for k, v in tr.model.state_dict().items() if v.dim() == 4 and v.shape[-1] > 1)
    assert tr.ema.state[conv].is_contiguous(memory_format=torch.channels_last)
    tr.iteration = 1
    tr.validate()
    from safetensors.torch import load_file

    saved = load_file(str(tr.run_dir / "best.safetensors"))
    assert all(v.is_contiguous() for v in saved.values())
    assert torch.equal(saved[conv], tr.ema.state[conv].contiguous())


def test_stage2_averages_the_generator_not_the_discriminator(tmp_path, dataset):  # noqa: F811
    from edgevsr.quality.lpips import resolve_weights

    try:
        resolve_weights()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS AlexNet weights not installed: {exc}")
    tr = _ema(tmp_path, dataset, stage=2, lr=1e-4, gan={"gan_weight": 0.01})
    before = {k: v.clone() for k, v in tr.ema.state.items()}
    tr.step()
    assert tr.ema.updates == 1 and set(tr.ema.state) == set(tr.model.state_dict())
    assert not all(torch.equal(tr.ema.state[k], v) for k, v in before.items())
    tr.iteration = 1
    tr.save_checkpoint()
    again = _ema(tmp_path, dataset, resume=True, stage=2, lr=1e-4, gan={"gan_weight": 0.01})
    assert again.ema.updates == 1
    assert all(torch.equal(again.ema.state[k], v) for k, v in tr.ema.state.items())


def test_stage0_ignores_the_average(tmp_path, dataset):  # noqa: F811
    log = _Log()
    tr = _ema(tmp_path, dataset, console=log, stage=0, flow_gap_max=2, flow_shift=1)
    assert tr.ema is None and any("ema_decay is ignored in stage 0" in line for line in log.lines)
    tr.step()


def test_ship_last_ships_the_average_of_an_ema_run(tmp_path, dataset):  # noqa: F811
    """An EMA run's model is its average (val.csv's psnr_y, best.safetensors): --last ships the last average, and
    the card says so; a last.pt without one (EMA off in the last stretch) ships the weights."""
    from safetensors.torch import load_file

    from edgevsr.train.ship import ship

    tr = _ema(tmp_path, dataset, val_every=3)
    tr.fit(3)
    out = ship(tr.run_dir, "l", output=tmp_path / "w", frames=2, last=True)
    shipped, card = load_file(str(out)), json.loads(out.with_suffix(".json").read_text())
    assert all(torch.equal(shipped[k], v.half()) for k, v in tr.ema.state.items() if v.is_floating_point())
    assert "last checkpoint (iteration 3)" in card["selected"] and "EMA-averaged" in card["selected"]
    plain = Trainer(load_config(_config(tmp_path, dataset, iterations=4)), resume=True)  # EMA off from here
    plain.fit()
    out = ship(tr.run_dir, "p", output=tmp_path / "w", frames=2, last=True)
    shipped, card = load_file(str(out)), json.loads(out.with_suffix(".json").read_text())
    assert all(torch.equal(shipped[k], v.half()) for k, v in plain.model.state_dict().items() if v.is_floating_point())
    assert "EMA" not in card["selected"]
