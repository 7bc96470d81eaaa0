"""The flow-free recurrent model (RRN-style): bicubic at start, edge budget, whole-graph DLA and INT8, trains."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
import yaml
from conftest import moving_clip
from test_train import _config, dataset  # noqa: F401  (the module-scoped tiny dataset fixture)

from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.models.ops import aligned_bicubic_upsample
from edgevsr.train.config import load_config
from edgevsr.train.trainer import Trainer

DLA_GRAPH_OPS = {"Conv", "ConvTranspose", "Relu", "Add", "Concat"}


def test_untrained_model_is_bd_bicubic_away_from_the_border():
    m = build_model("rrn")
    lr, hr_prev = torch.rand(1, 3, 16, 20), torch.rand(1, 3, 64, 80)
    with torch.no_grad():
        out = m.core(lr, lr, hr_prev)
    ref = aligned_bicubic_upsample(lr, 4)
    assert torch.allclose(out[..., 8:-8, 8:-8], ref[..., 8:-8, 8:-8], atol=1e-5)


def test_fixed_convolutions_are_exactly_pixel_shuffle_and_unshuffle():
    m = build_model("rrn-lite")
    x = torch.rand(2, 3, 32, 40)
    assert torch.equal(m.fold(x), F.pixel_unshuffle(x, 4))
    p = torch.rand(2, 48, 8, 10)
    assert torch.equal(m.unfold(p), F.pixel_shuffle(p, 4))
    assert not any(k.startswith(("fold.", "unfold.")) for k in m.state_dict())  # not in weight files


def test_edge_budget_against_egvsr():
    macs = {n: build_model(n).macs_per_lr_pixel() for n in ("rrn", "rrn-lite", "egvsr", "egvsr-lite")}
    assert macs["rrn"] <= 0.6 * macs["egvsr"]
    assert macs["rrn-lite"] <= macs["egvsr-lite"]


def test_previous_output_reaches_the_current_one():
    """The recurrence is real: a trained-looking model (non-zero residual) reads hr_prev."""
    torch.manual_seed(0)
    m = build_model("rrn-lite")
    torch.nn.init.normal_(m.conv_out.weight, std=0.01)
    lr = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        a = m.core(lr, lr, torch.zeros(1, 3, 32, 32))
        b = m.core(lr, lr, torch.ones(1, 3, 32, 32))
    assert (a - b).abs().max() > 1e-4


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """FP32 export of a (perturbed) rrn-lite and its INT8 form with no float fallback at all."""
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.calibration.calibrators import collect_stats
    from edgevsr.calibration.reader import record_steps
    from edgevsr.quantize import export as X
    from edgevsr.quantize.int8 import quantize_qdq
    from edgevsr.quantize.int8_fp16 import FP16_FLOATS_KEY, int8_on_fp16
    from edgevsr.quantize.optimize import resize_to_conv

    torch.manual_seed(0)
    net = build_model("rrn-lite")
    torch.nn.init.normal_(net.conv_out.weight, std=0.01)
    d = tmp_path_factory.mktemp("rrn")
    proto, _ = resize_to_conv(X.to_onnx(net, (32, 48)))
    X.set_metadata(proto, X.edgevsr_metadata(net, "rrn-lite", "fp32"))
    paths = {"fp32": d / "fp32.onnx"}
    onnx.save(proto, str(paths["fp32"]))
    frames = moving_clip(4, 32, 48)  # LR frames, the export's fixed size
    with OnnxRuntimeRunner(paths["fp32"]) as r:
        steps = record_steps(r, frames)
    ranges = collect_stats(proto, steps, histograms=False).ranges("minmax")
    int8 = quantize_qdq(proto, ranges, set())  # every layer INT8: nothing kept in float
    meta = {**{p.key: p.value for p in proto.metadata_props}, X.PRECISION_KEY: "int8"}
    X.set_metadata(int8, meta)
    paths["int8"] = d / "int8.onnx"
    onnx.save(int8, str(paths["int8"]))
    dla = int8_on_fp16(int8, proto)  # the DLA form: what is not INT8 (adds, ReLUs) runs FP16, not FP32
    X.set_metadata(dla, {**meta, FP16_FLOATS_KEY: "fp16"})
    paths["int8-dla"] = d / "int8-dla.onnx"
    onnx.save(dla, str(paths["int8-dla"]))
    return net, paths, steps


def test_graph_is_only_dla_layers(exports):
    _, paths, _ = exports
    ops = {n.op_type for n in onnx.load(str(paths["fp32"])).graph.node} - {"Constant", "Identity"}
    assert ops <= DLA_GRAPH_OPS, ops - DLA_GRAPH_OPS


@pytest.mark.parametrize("form", ["fp32", "int8-dla"])
def test_build_check_puts_every_layer_on_the_dla_in_one_subgraph(exports, form):
    """FP16 (the FP32 export built with FP16 on the implicit path) and INT8 (every conv INT8, the rest FP16):
    every compute layer on the DLA, one subgraph; only the INT8 form's FP32<->FP16 casts at the graph's inputs
    and output are left to the GPU (reformats at the boundary)."""
    from edgevsr.deploy.trt_check import check_onnx

    _, paths, _ = exports
    r = check_onnx(paths[form], "10.3", dla=True, precision="fp16" if form == "fp32" else None)
    assert r.ok, r.refusal
    off = [(n.name, n.dla) for n in r.nodes if n.dla != "yes" and n.op != "Cast"]
    assert r.nodes and not off, off
    casts = sum(n.op == "Cast" for n in r.nodes)
    assert (r.dla_subgraphs, r.gpu_layers) == (1, casts) and casts == (4 if form == "int8-dla" else 0)
    if form == "int8-dla":
        weighted = [n for n in r.nodes if n.op in ("Conv", "ConvTranspose")]
        assert weighted and all(n.precisions == "int8" for n in weighted)


def test_full_int8_stays_close_to_fp32_in_onnxruntime(exports):
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner

    _, paths, steps = exports
    with OnnxRuntimeRunner(paths["fp32"]) as a, OnnxRuntimeRunner(paths["int8"]) as b:
        outs = [(np.asarray(a.infer(*s)), np.asarray(b.infer(*s))) for s in steps]
    mse = np.mean([np.mean((x - y) ** 2) for x, y in outs])
    assert 0 < mse and 10 * np.log10(1 / mse) > 35  # INT8 noise, not a broken graph


def test_trains_without_flow_and_refuses_flow_options(tmp_path, dataset):  # noqa: F811
    cfg = load_config(_config(tmp_path, dataset, model="rrn-lite", iterations=2))
    tr = Trainer(cfg)
    tr.fit()
    torch.manual_seed(1)
    fixed = tr.batch()
    tr.batch = lambda: fixed
    first = tr.step()
    for _ in range(15):
        last = tr.step()
    assert last["pixel"] < 0.95 * first["pixel"] and first["warp"] == 0.0
    assert {"psnr_y", "tof"} <= set(tr.validate())
    for extra, word in [({"stage": 2}, "stage 2"), ({"flow_teacher_weight": 0.1}, "flow_teacher_weight")]:
        path = _config(tmp_path / word.replace(" ", "_"), dataset, model="rrn", **extra)
        with pytest.raises(EdgeVSRError, match=f"no FNet.*{word}"):
            load_config(path)
    assert yaml.safe_load(path.read_text())["model"] == "rrn"


def test_quantize_all_int8_leaves_nothing_in_float(tmp_path):
    """`quantize --int8 --all-int8` (API: float_fallback=False): a DLA-only, INT8-only engine plan."""
    from conftest import write_video
    from safetensors.torch import save_file

    from edgevsr.deploy.trt_check import check_onnx
    from edgevsr.quantize.entry import quantize

    torch.manual_seed(0)
    net = build_model("rrn-lite")
    torch.nn.init.normal_(net.conv_out.weight, std=0.01)
    weights = tmp_path / "w.safetensors"
    save_file(net.state_dict(), str(weights))
    video = write_video(tmp_path / "calib.mp4", moving_clip(6, 32, 48), fps=10)
    out = tmp_path / "q.onnx"
    quantize("rrn-lite", out, precision="int8", weights=str(weights), calib=video, calib_frames=4, size="48x32",
             speed_size=None, float_fallback=False)
    r = check_onnx(out, "10.3", dla=True)
    assert r.ok, r.refusal
    assert all(n.dla == "yes" for n in r.nodes)
    assert all(n.precisions == "int8" for n in r.nodes if n.op in ("Conv", "ConvTranspose"))


def test_state_resets_at_a_scene_cut_as_for_every_recurrent_model():
    """The reset lives in FrameUpscaler: after a cut, rrn's output is a fresh start on the new scene."""
    from edgevsr.backends.torch.runner import TorchRunner
    from edgevsr.models.spec import ModelSpec
    from edgevsr.stream import FrameUpscaler

    torch.manual_seed(0)
    net = build_model("rrn-lite")
    torch.nn.init.normal_(net.conv_out.weight, std=0.05)
    spec = ModelSpec.of(net, "rrn-lite")
    a, b = moving_clip(3, 32, 48, seed=1), [255 - f for f in moving_clip(2, 32, 48, seed=2)]
    cut = list(FrameUpscaler(TorchRunner(net, spec), scene_cut=0.3).run(a + b))
    fresh = list(FrameUpscaler(TorchRunner(net, spec)).run(b))
    carried = list(FrameUpscaler(TorchRunner(net, spec)).run(a + b))
    assert np.array_equal(cut[3], fresh[0])
    assert not np.array_equal(carried[3], fresh[0])  # without the cut the old scene leaks in


@pytest.mark.parametrize("name", ["rrn", "rrn-lite"])
def test_deploy_form_is_the_training_form_with_the_same_weights(name):
    """The exported form (skip split on the INT8 grid, phases centred) computes what training computes, from
    the same state_dict; the weight files keep the training form."""
    from edgevsr.models.rrn import RRNetDeploy

    torch.manual_seed(0)
    net = build_model(name).eval()
    for p in net.parameters():  # trained-looking: every weight moved, the skip off the bicubic taps
        torch.nn.init.normal_(p, std=0.02) if p.dim() == 1 else p.data.add_(0.01 * torch.randn_like(p))
    keys = sorted(net.state_dict())
    d = net.deploy()
    assert isinstance(d, RRNetDeploy) and sorted(net.state_dict()) == keys
    x = net.example_inputs(24, 40)
    with torch.no_grad():
        assert (d.core(*x) - net.core(*x)).abs().max() < 1e-5
    w = net.skip.weight.detach()
    assert torch.allclose(d.skip.weight + d.skip_fine.weight, w, atol=1e-7)
    step = w.abs().flatten(1).amax(1)[:, None, None, None] / 127
    q = d.skip.weight / step  # the coarse part is on the per-channel INT8 grid, the rest under half a step
    assert (q - q.round()).abs().max() < 1e-3 and (d.skip_fine.weight.abs() <= step / 2 + 1e-7).all()


def test_shipped_weights_export_to_the_same_output():
    from edgevsr.weights import load_model

    net, _ = load_model("rrn", None)
    x = net.example_inputs(16, 24)
    with torch.no_grad():
        assert (net.eval().deploy().core(*x) - net.core(*x)).abs().max() < 1e-5


def test_full_int8_keeps_the_shipped_weights_picture(tmp_path, fixtures):
    """Every layer INT8 on real footage with the shipped (trained) weights stays close to FP32. The skip conv
    quantized in one piece (the export before RRNetDeploy) put a 4x4 pattern of up to 3 % DC error on the picture."""
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.calibration.reader import read_calib_frames
    from edgevsr.quality.metrics import psnr
    from edgevsr.quantize.entry import quantize
    from edgevsr.stream import FrameUpscaler

    frames = read_calib_frames(fixtures / "clip", 14, (48, 64))
    calib = tmp_path / "calib"
    calib.mkdir()
    import cv2

    for i, f in enumerate(frames[:6], 1):
        cv2.imwrite(str(calib / f"im{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    paths = {p: tmp_path / f"{p}.onnx" for p in ("fp32", "int8")}
    quantize("rrn", paths["fp32"], precision="fp32", speed_size=None)
    quantize("rrn", paths["int8"], precision="int8", calib=calib, calib_frames=6, speed_size=None, search=False,
             float_fallback=False)
    outs = {}
    for p, path in paths.items():
        with OnnxRuntimeRunner(path) as r:
            outs[p] = list(FrameUpscaler(r).run(frames[6:]))
    db = np.mean([psnr(a, b) for a, b in zip(outs["int8"], outs["fp32"], strict=True)])
    assert db > 48.0, db  # 51.0 dB here; 44.0 with the skip quantized in one piece (the old export)
