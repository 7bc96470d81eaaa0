"""Model family: parameter counts, checkpoint layout, shapes on odd sizes, streaming == sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.ops import backward_warp, space_to_depth
from edgevsr.models.spec import ModelSpec
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import file_sha256, load_model, read_hashed_state_dict, read_state_dict, save_weights


def test_egvsr_parameter_counts_match_the_paper():
    m = build_model("egvsr")
    fnet = sum(p.numel() for p in m.fnet.parameters())
    srnet = sum(p.numel() for p in m.srnet.parameters())
    assert fnet == 1_745_506  # 1.746 M
    assert srnet == 768_111  # 0.768 M
    assert abs(m.macs_per_lr_pixel() * 480 * 270 / 1e9 - 116) < 1  # ~116 GMAC at 480x270


def test_parameter_names_follow_public_checkpoints():
    keys = set(build_model("egvsr").state_dict())
    for k in ("fnet.encoder1.0.weight", "fnet.flow.2.weight", "srnet.conv_in.0.weight",
              "srnet.resblocks.9.conv.2.weight", "srnet.conv_out.weight"):
        assert k in keys
    frvsr = set(build_model("frvsr").state_dict())
    assert "srnet.conv_up.0.weight" in frvsr and "srnet.resblocks.15.conv.0.weight" in frvsr
    lite = build_model("egvsr-lite")
    assert sum(p.numel() for p in lite.parameters()) < 0.3 * sum(p.numel() for p in build_model("egvsr").parameters())


@pytest.mark.parametrize("name", ["egvsr", "egvsr-lite", "frvsr", "bicubic"])
def test_any_input_size_gives_exact_x4_output(name):
    m = build_model(name)
    with torch.no_grad():
        out = m.forward_sequence(torch.rand(1, 2, 3, 21, 34))
    assert out.shape == (1, 2, 3, 84, 136)
    assert torch.isfinite(out).all()


def test_space_to_depth_inverts_pixel_shuffle_in_tecogan_order():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    y = space_to_depth(x, 4)
    assert y.shape == (2, 48, 2, 2)
    # TecoGAN order: channel = (i * 4 + j) * C + c for the pixel at offset (i, j)
    assert y[0, (1 * 4 + 2) * 3 + 1, 0, 1] == x[0, 1, 1, 4 + 2]


def test_warp_by_integer_flow_shifts_the_image():
    x = torch.rand(1, 3, 16, 20)
    flow = torch.zeros(1, 2, 16, 20)
    flow[:, 0] = 2.0  # sample two pixels to the right
    y = backward_warp(x, flow)
    assert torch.allclose(y[..., :, :-2], x[..., :, 2:], atol=1e-5)
    assert torch.allclose(backward_warp(x, torch.zeros_like(flow)), x, atol=1e-5)


def test_streaming_equals_sequence_inference(clip):
    torch.manual_seed(0)
    model = build_model("egvsr-lite")
    frames = [f[:37, :45] for f in clip[:4]]  # odd size: padding path
    lr = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()[None] / 255
    with torch.no_grad():
        ref = model.forward_sequence(lr)[0]
    ref = (ref.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, "egvsr-lite")))
    outs = list(up.run(frames))
    assert len(outs) == 4 and outs[0].shape == (148, 180, 3)
    assert max(int(np.abs(o.astype(int) - r.astype(int)).max()) for o, r in zip(outs, ref)) <= 1


def test_weights_round_trip_safetensors_and_pth(tmp_path):
    torch.manual_seed(1)
    m = build_model("egvsr-lite")
    save_weights(m, tmp_path / "w.safetensors", {"model": "egvsr-lite"}, fp16=False)
    loaded, source = load_model("egvsr-lite", tmp_path / "w.safetensors")
    assert source.endswith("w.safetensors")
    for (k, a), b in zip(m.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    torch.save({"state_dict": {"module." + k: v for k, v in m.state_dict().items()}}, tmp_path / "w.pth")
    assert set(read_state_dict(tmp_path / "w.pth")) == set(m.state_dict())
    load_model("egvsr-lite", tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):  # the hash a card records is of the bytes that were loaded
        sd, sha = read_hashed_state_dict(tmp_path / name)
        assert sha == file_sha256(tmp_path / name) and set(sd) == set(m.state_dict())


def test_damaged_shipped_weights_are_refused_as_damaged(tmp_path, monkeypatch):
    """The card's SHA-256 is checked on the bytes that are loaded, before they are parsed: a flipped byte or a file
    cut short is named as a damaged install, never loaded."""
    import edgevsr.weights as w

    path = tmp_path / "lite.safetensors"
    save_weights(build_model("egvsr-lite"), path, {"model": "egvsr-lite"})
    card = w.WeightCard("lite", "egvsr-lite", path, {"sha256": file_sha256(path)})
    monkeypatch.setattr(w, "shipped_weights", lambda: {"lite": card})
    assert load_model("egvsr-lite", "lite")[1] == "shipped:lite"
    data = path.read_bytes()
    for damaged in (data[:-1] + bytes([data[-1] ^ 1]), data[: len(data) // 2]):
        path.write_bytes(damaged)
        with pytest.raises(EdgeVSRError, match=r"lite\.safetensors: SHA-256 .* differs from its card's .*damaged"):
            load_model("egvsr-lite", "lite")
    monkeypatch.setattr(w, "shipped_weights", lambda: {"lite": w.WeightCard("lite", "egvsr-lite", path, {})})
    with pytest.raises(EdgeVSRError, match="the card records no SHA-256"):
        load_model("egvsr-lite", "lite")


def test_wrong_weights_name_the_first_mismatches(tmp_path):
    save_weights(build_model("egvsr-lite"), tmp_path / "lite.safetensors", {"model": "egvsr-lite"})
    with pytest.raises(EdgeVSRError, match=r"lite\.safetensors.*shape mismatch.*fnet\.encoder1\.0\.weight"):
        load_model("egvsr", tmp_path / "lite.safetensors")


def test_pickled_code_is_never_executed(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(EdgeVSRError, match="evil.pth: cannot read weights"):
        read_state_dict(tmp_path / "evil.pth")


def test_untrained_model_is_refused_not_silently_random():
    with pytest.raises(EdgeVSRError, match="no trained weights|--weights"):
        load_model("vespcn")  # ships no weights
    _, source = load_model("vespcn", allow_random=True)
    assert "RANDOM" in source


def test_aligned_bicubic_puts_hr_pixel_4i_on_lr_pixel_i_and_fits_bd_better():
    from conftest import photo

    from edgevsr.degrade import degrade_tensor
    from edgevsr.models.ops import aligned_bicubic_upsample, bicubic_upsample

    x = torch.rand(1, 3, 10, 12)
    assert torch.allclose(aligned_bicubic_upsample(x, 4)[..., ::4, ::4], x, atol=1e-6)
    hr = torch.from_numpy(photo()[:256, :256].copy()).permute(2, 0, 1)[None].float() / 255
    lr = degrade_tensor(hr, "BD")
    err = [((f(lr, 4) - hr)[..., 8:-8, 8:-8] ** 2).mean() for f in (bicubic_upsample, aligned_bicubic_upsample)]
    assert err[1] < 0.8 * err[0]  # the half-pixel resize is 1.5 HR px off on BD input


def test_one_line_errors_survive_empty_and_multiline_messages():
    from edgevsr.errors import first_line

    assert first_line(ValueError("")) == "ValueError"  # str(exc).splitlines()[0] raised IndexError here
    assert first_line(RuntimeError("  first\nsecond")) == "first"
    assert first_line(RuntimeError("x" * 500), 120) == "x" * 120
