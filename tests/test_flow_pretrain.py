"""Stage 0 (FNet alone vs the flow teacher): BatchNorm folding, exact shift labels, the run end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.ops import backward_warp
from edgevsr.train.config import load_config
from edgevsr.train.flow_pretrain import (
    add_batchnorm,
    fold_batchnorm,
    folded_state_dict,
    has_batchnorm,
    precise_batchnorm,
    shifted_pair,
)
from edgevsr.train.trainer import Trainer
from edgevsr.weights import load_into
from tests.test_train import _config, dataset  # noqa: F401  (the module-scoped tiny dataset fixture)


def test_folded_fnet_is_the_published_layout_and_computes_the_same_flow():
    model = build_model("egvsr-lite")
    plain_keys = set(model.fnet.state_dict())
    add_batchnorm(model.fnet)
    assert has_batchnorm(model.fnet)
    torch.manual_seed(0)
    x1, x2 = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    precise_batchnorm(model.fnet, [(torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)) for _ in range(3)])
    for m in model.fnet.modules():  # non-trivial affine parameters, so folding them is tested too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.fnet.eval()
    folded = fold_batchnorm(model.fnet)
    assert not has_batchnorm(folded) and set(folded.state_dict()) == plain_keys
    with torch.no_grad():
        torch.testing.assert_close(model.fnet(x1, x2), folded(x1, x2), rtol=1e-4, atol=1e-3)
    state = folded_state_dict(model)
    plain = build_model("egvsr-lite")
    load_into(plain, state, "folded")  # strict: the keys a public checkpoint has
    with torch.no_grad():
        torch.testing.assert_close(plain.fnet(x1, x2), folded(x1, x2), rtol=0, atol=0)


def test_precise_batchnorm_is_the_plain_average_and_keeps_the_mode():
    model = build_model("egvsr-lite")
    add_batchnorm(model.fnet)
    model.fnet.eval()
    batches = [(torch.rand(2, 3, 16, 16) * (i + 1), torch.rand(2, 3, 16, 16)) for i in range(4)]
    precise_batchnorm(model.fnet, batches)
    assert not model.fnet.training
    first = model.fnet.encoder1[0][1]
    conv = model.fnet.encoder1[0][0]
    with torch.no_grad():
        means = [conv(torch.cat(b, 1)).mean((0, 2, 3)) for b in batches]
    assert torch.allclose(first.running_mean, torch.stack(means).mean(0), atol=1e-5)


def test_shifted_pair_labels_are_exact():
    """Identical frames (teacher flow 0): after the cut, warping prev by the new label gives cur exactly."""
    torch.manual_seed(1)
    frame = torch.nn.functional.interpolate(torch.rand(1, 3, 20, 20), size=(48, 48), mode="bicubic")
    hr = torch.stack([frame[0], frame[0]])[None].repeat(8, 1, 1, 1, 1)  # (8, 2, 3, 48, 48)
    teacher = torch.zeros(8, 2, 2, 12, 12)
    valid = torch.ones(8, 2, 1, 12, 12)
    crops, flows, masks = shifted_pair(hr, teacher, valid, margin=8, scale=4,
                                       generator=torch.Generator().manual_seed(3))
    assert crops.shape == (8, 2, 3, 32, 32) and flows.shape == (8, 2, 2, 8, 8) and masks.shape == (8, 2, 1, 8, 8)
    moved = flows[:, 1].flatten(1).abs().amax(1) > 0
    assert 0 < int(moved.sum()) < 8  # some samples were shifted, some were not
    for b in range(8):
        hr_flow = (4 * flows[b, 1]).mean((1, 2))[None, :, None, None].expand(1, 2, 32, 32)
        assert torch.allclose(flows[b, 1], flows[b, 1, :, :1, :1].expand(2, 8, 8))  # one global shift
        warped = backward_warp(crops[b, 0][None], hr_flow)[0]
        inner = slice(8, -8)
        assert torch.allclose(warped[:, inner, inner], crops[b, 1][:, inner, inner], atol=1e-4)
    with pytest.raises(ValueError, match="multiple of the scale"):
        shifted_pair(hr, teacher, valid, margin=6, scale=4)


def test_stage0_run_trains_fnet_only_saves_a_plain_generator_and_resumes(tmp_path, dataset):  # noqa: F811
    init = tmp_path / "init.safetensors"
    from safetensors.torch import save_file

    start = build_model("egvsr-lite")
    save_file({k: v.contiguous() for k, v in start.state_dict().items()}, str(init))
    cfg = _config(tmp_path, dataset, stage=0, iterations=4, init=str(init), reinit_fnet=True, flow_gap_max=2,
                  flow_shift=1, val_every=2, data={"root": str(dataset), "window": 3, "crop": 32, "batch": 2,
                                                  "val_clips": ["held"], "val_frames": 4})
    trainer = Trainer(load_config(cfg))
    assert trainer.sampler.crop == 32 + 2 * 4  # the cut margin around each crop
    trainer.fit(2)
    resumed = Trainer(load_config(cfg), resume=True)
    assert resumed.iteration == 2
    resumed.fit(4)
    rows = list(csv.DictReader(open(tmp_path / "run" / "val.csv")))
    assert [int(r["iteration"]) for r in rows] == [0, 2, 4]
    assert all(float(r["flow_epe_zero@held"]) > 0 and float(r["flow_epe@held"]) >= 0 for r in rows)
    from safetensors.torch import load_file

    best = load_file(str(tmp_path / "run" / "best.safetensors"))
    plain = build_model("egvsr-lite")
    load_into(plain, best, "best")  # strict: BatchNorm folded away
    for k, v in start.srnet.state_dict().items():  # SRNet is saved as it was loaded
        assert torch.equal(best[f"srnet.{k}"], v), k
    from edgevsr.train.ship import ship

    with pytest.raises(EdgeVSRError, match="stage-0 run trains FNet alone"):
        ship(tmp_path / "run", "nope", output=tmp_path / "shipped")


@pytest.mark.parametrize(("extra", "message"), [
    ({"stage": 0, "model": "sofvsr"}, "needs a recurrent model"),
    ({"stage": 0, "flow_gap_max": 3}, r"window >= flow_gap_max \+ 1"),
    ({"stage": 0, "flow_shift": -1}, "flow_shift must be >= 0"),
    ({"stage": 0, "flow_batchnorm": False, "flow_batchnorm_until": 5}, "needs flow_batchnorm: true"),
])
def test_stage0_config_errors_name_the_problem(tmp_path, dataset, extra, message):  # noqa: F811
    path = _config(tmp_path, dataset, **extra)
    with pytest.raises(EdgeVSRError, match=message):
        load_config(path)


def test_shipped_stage0_config_loads():
    path = Path(__file__).resolve().parents[1] / "edgevsr" / "configs" / "egvsr-lite" / "egvsr-lite-stage0.yaml"
    cfg = load_config(path)
    assert cfg.stage == 0 and cfg.flow_batchnorm and yaml.safe_load(path.read_text())["init"]


def test_stage0_folds_batchnorm_for_good_and_resumes_past_the_fold(tmp_path, dataset):  # noqa: F811
    cfg = _config(tmp_path, dataset, stage=0, iterations=4, reinit_fnet=True, flow_gap_max=2, flow_shift=1,
                  flow_batchnorm_until=2, val_every=1000,
                  data={"root": str(dataset), "window": 3, "crop": 32, "batch": 2, "val_clips": ["held"],
                        "val_frames": 4})
    trainer = Trainer(load_config(cfg))
    trainer.fit(2)
    assert has_batchnorm(trainer.model.fnet)
    trainer.fit(3)
    assert not has_batchnorm(trainer.model.fnet)  # folded at iteration 2: the published FNet from here on
    assert set(trainer.model.fnet.state_dict()) == set(build_model("egvsr-lite").fnet.state_dict())
    resumed = Trainer(load_config(cfg), resume=True)
    assert resumed.iteration == 3 and not has_batchnorm(resumed.model.fnet)
    resumed.fit(4)
    straight = Trainer(load_config(_config(tmp_path / "b", dataset, stage=0, iterations=4, reinit_fnet=True,
                                           flow_gap_max=2, flow_shift=1, flow_batchnorm_until=2, val_every=1000,
                                           data={"root": str(dataset), "window": 3, "crop": 32, "batch": 2,
                                                 "val_clips": ["held"], "val_frames": 4})))
    straight.fit(4)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)


def test_batchnorm_follows_the_convs_device_and_dtype():
    """add_batchnorm on a model already moved (here to float64; on a GPU, to CUDA) keeps FNet in one place."""
    model = build_model("egvsr-lite").to(torch.float64)
    add_batchnorm(model.fnet)
    kinds = {(t.device, t.dtype) for t in list(model.fnet.parameters()) + list(model.fnet.buffers())
             if t.is_floating_point()}
    assert kinds == {(torch.device("cpu"), torch.float64)}
    assert fold_batchnorm(model.fnet).encoder1[0].weight.dtype == torch.float64
