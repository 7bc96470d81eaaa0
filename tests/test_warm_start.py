"""Warm start: FRVSR/TecoGAN take EGVSR's FNet and SRNet body; what EGVSR lacks starts quiet."""

import pytest
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.ops import aligned_bicubic_upsample
from edgevsr.train.trainer import quiet_residual
from edgevsr.train.warm_start import describe, warm_start


def _donor() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    donor = build_model("egvsr")
    with torch.no_grad():  # a trained-looking donor: every tensor non-zero, output conv included
        for p in donor.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return donor.state_dict()


def test_frvsr_takes_egvsr_fnet_and_body_and_starts_quiet():
    sd = _donor()
    model = build_model("frvsr").eval()
    parts = warm_start(model, sd, "egvsr.safetensors")
    quiet_residual(model)
    own = model.state_dict()
    assert all(torch.equal(own[k], sd[k]) for k in sd if k.startswith("fnet."))
    assert torch.equal(own["srnet.resblocks.9.conv.2.weight"], sd["srnet.resblocks.9.conv.2.weight"])
    assert "srnet.resblocks.10.conv.0.weight" in parts["fresh"] and "srnet.conv_out.weight" in parts["fresh"]
    assert "srnet.conv_out.bias" in parts["fresh"]  # its shape fits, but not without its weight
    assert not own["srnet.resblocks.15.conv.2.weight"].any()  # identity block
    assert "srnet.conv_up" in describe(parts) and "srnet.resblocks.10" in describe(parts)

    lr_curr, lr_prev = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        egvsr = build_model("egvsr").eval()
        egvsr.load_state_dict(sd)
        assert torch.allclose(model.fnet(lr_curr, lr_prev), egvsr.fnet(lr_curr, lr_prev))
        out = model.core(lr_curr, lr_prev, torch.rand(1, 3, 64, 64))
    assert torch.allclose(out, aligned_bicubic_upsample(lr_curr, 4), atol=1e-6)  # zero residual to begin with


def test_unrelated_weights_are_refused_with_the_file_named():
    with pytest.raises(EdgeVSRError, match="other.safetensors: no layer matches"):
        warm_start(build_model("frvsr"), {"conv.weight": torch.zeros(3)}, "other.safetensors")
    # egvsr-lite shares only bias shapes with egvsr (FNet's flow head, the RGB output): not a donor
    with pytest.raises(EdgeVSRError, match="lite.safetensors: no layer matches"):
        warm_start(build_model("egvsr"), build_model("egvsr-lite").state_dict(), "lite.safetensors")


def test_init_and_warm_start_together_are_refused():
    from edgevsr.train.config import TrainConfig, validate

    with pytest.raises(EdgeVSRError, match="not both"):
        validate(TrainConfig(model="frvsr", init="a.safetensors", warm_start="b.safetensors"), "frvsr.yaml")
