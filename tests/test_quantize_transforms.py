"""Exact graph/module transforms: BatchNorm folding, Resize -> Conv rewrite, TensorRT cache format."""

from __future__ import annotations

import struct

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from edgevsr.calibration.trt_cache import cache_text, read_cache, version_tag, write_cache
from edgevsr.errors import EdgeVSRError
from edgevsr.models import build_model
from edgevsr.quantize.bn_fusion import fuse_batchnorm
from edgevsr.quantize.optimize import resize_to_conv


def _randomize_bn(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))


class Net(nn.Module):
    """BN after Conv2d (nested Sequential), after a grouped ConvTranspose2d, and outside any Sequential."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)),
                                  nn.ReLU(), nn.ConvTranspose2d(16, 8, 4, 2, 1, groups=2), nn.BatchNorm2d(8))
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head_bn = nn.BatchNorm2d(8)  # after a ReLU, not a conv: must stay

    def forward(self, x):
        return self.head_bn(torch.relu(self.bn(self.conv(self.body(x)))))


def test_bn_fusion_folds_all_conv_bn_pairs_and_keeps_outputs():
    net = Net().eval()
    _randomize_bn(net)
    x = torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        ref = net(x)
        fused, report = fuse_batchnorm(net)
        out = fused(x)
    assert report.count == 3
    assert report.unfused_bn == ["head_bn"]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules()) == 1
    assert torch.allclose(out, ref, atol=1e-5)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 4  # not in place by default


def test_egvsr_generator_has_no_batchnorm():
    _, report = fuse_batchnorm(build_model("egvsr"))
    assert report.count == 0 and report.unfused_bn == []


def _resize_model(mode: str, scale: int, c: int) -> onnx.ModelProto:
    scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode=mode,
                            coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, "h", "w"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, "H", "W"])], [scales])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("mode,scale", [("cubic", 4), ("linear", 4), ("linear", 2), ("cubic", 2)])
def test_resize_to_conv_is_exact_against_pytorch(mode, scale):
    model = _resize_model(mode, scale, 3)
    rewritten, n = resize_to_conv(model)
    assert n == 1
    onnx.checker.check_model(rewritten)
    assert [nd.op_type for nd in rewritten.graph.node] == ["Pad", "Conv", "DepthToSpace"]
    x = np.random.default_rng(1).random((1, 3, 13, 17), np.float32)  # odd sizes: borders matter
    got = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    torch_mode = "bicubic" if mode == "cubic" else "bilinear"
    ref = F.interpolate(torch.from_numpy(x), scale_factor=scale, mode=torch_mode, align_corners=False).numpy()
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-5


def test_resize_to_conv_leaves_other_resizes_alone():
    model = _resize_model("nearest", 2, 3)
    _, n = resize_to_conv(model)
    assert n == 0


def test_trt_cache_format(tmp_path):
    assert version_tag("8.6.1") == "8601" and version_tag("10.3.0") == "100300"
    text = cache_text({"lr_curr": 1.0, "conv2d": 0.5, "dead": 0.0}, "8.6.1")
    lines = text.splitlines()
    assert lines[0] == "TRT-8601-EntropyCalibration2"
    # scale = amax / 127 as big-endian float32 hex: 1/127 -> 3c010204
    assert lines[1] == "lr_curr: 3c010204"
    assert lines[2] == f"conv2d: {struct.pack('>f', 0.5 / 127).hex()}"
    assert len(lines) == 3  # zero-range tensors are left out
    path = write_cache(tmp_path / "calib.cache", {"a/b:0": 2.54}, "10.3.0")
    header, scales = read_cache(path)
    assert header == "TRT-100300-EntropyCalibration2"
    assert scales["a/b:0"] == pytest.approx(0.02, rel=1e-6)
    with pytest.raises(EdgeVSRError, match="TensorRT 11"):
        version_tag("11.0.0")
