"""Net2WiderNet: the egvsr-lite FNet widened to EGVSR's computes the same flow; the CLI writes a usable file."""

import pytest
import torch
from safetensors.torch import save_file

from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.train.widen import main, widen_fnet, widen_tensor
from edgevsr.weights import load_into, read_state_dict


def _trained_lite() -> torch.nn.Module:
    torch.manual_seed(1)
    lite = build_model("egvsr-lite").eval()
    with torch.no_grad():  # move every tensor off its init so a wrong copy shows
        for p in lite.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return lite


def test_widened_fnet_gives_the_narrow_flow_exactly():
    lite = _trained_lite()
    wide = build_model("egvsr").eval()
    donor = {k: v.half() for k, v in wide.state_dict().items()}  # shipped files are FP16: the FNet must not be
    widened = widen_fnet(lite.state_dict(), donor, noise=0.0)
    assert widened["fnet.encoder1.0.weight"].dtype == torch.float32
    wide.load_state_dict(widened)
    a, b = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        ref = lite.fnet(a, b)
        assert ref.abs().max() > 0.05  # a real flow, not a zero-flow tie
        assert torch.allclose(wide.fnet(a, b), ref, atol=1e-5)
        noisy = build_model("egvsr").eval()
        noisy.load_state_dict(widen_fnet(lite.state_dict(), wide.state_dict(), noise=0.01))
        assert 0 < (noisy.fnet(a, b) - ref).abs().max() < 0.1 * ref.abs().max()


def test_cli_keeps_the_donor_srnet_and_never_writes_over_an_input(tmp_path, capsys):
    lite, donor = _trained_lite(), build_model("egvsr")
    save_file(lite.state_dict(), str(tmp_path / "lite.safetensors"))
    save_file(donor.state_dict(), str(tmp_path / "donor.safetensors"))
    out = tmp_path / "wide.safetensors"
    assert main([str(tmp_path / "lite.safetensors"), str(tmp_path / "donor.safetensors"), "-o", str(out)]) == 0
    sd = read_state_dict(out)
    load_into(build_model("egvsr"), sd, str(out))
    assert torch.equal(sd["srnet.conv_in.0.weight"], donor.state_dict()["srnet.conv_in.0.weight"])
    before = (tmp_path / "donor.safetensors").read_bytes()
    capsys.readouterr()
    assert main([str(tmp_path / "lite.safetensors"), str(tmp_path / "donor.safetensors"), "-o",
                 str(tmp_path / "donor.safetensors")]) == 2  # a usage error: 2, one line
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / 'donor.safetensors'}: is the input"), err
    assert (tmp_path / "donor.safetensors").read_bytes() == before


def test_channels_that_are_not_whole_multiples_or_already_wide_are_refused():
    with pytest.raises(EdgeVSRError, match="whole multiples"):
        widen_tensor(torch.zeros(16, 6, 3, 3), (24, 6, 3, 3), 0.0, torch.Generator())
    wide = build_model("egvsr").state_dict()
    with pytest.raises(EdgeVSRError, match="egvsr.safetensors: its FNet already has"):
        widen_fnet(wide, wide, source="egvsr.safetensors")
    with pytest.raises(EdgeVSRError, match=r"swapped.safetensors: fnet\.encoder1\.0\.weight: cannot widen"):
        widen_fnet(wide, build_model("egvsr-lite").state_dict(), source="swapped.safetensors")
