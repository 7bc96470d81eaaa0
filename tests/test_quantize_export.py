"""ONNX export of one recurrent step: checker-valid, dynamic H/W, metadata, ORT == PyTorch on real frames."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.calibration.reader import read_calib_frames, record_steps
from edgevsr.errors import EdgeVSRError
from edgevsr.models.base import VSRModel
from edgevsr.models.spec import ModelSpec
from edgevsr.quantize.export import compare_with_torch, export_onnx, parse_shape, read_metadata
from edgevsr.weights import load_model, weights_hash


@pytest.fixture(scope="module")
def egvsr():
    torch.manual_seed(0)
    model, _ = load_model("egvsr", allow_random=True)  # export equivalence does not depend on training
    return model


@pytest.fixture(scope="module")
def exported(egvsr, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "egvsr.onnx"
    export_onnx(egvsr, "egvsr", path)
    return path


def _frames(fixtures, n, shape):
    return read_calib_frames(fixtures / "clip", n, shape)


def test_export_is_valid_with_dynamic_hw_and_metadata(exported, egvsr):
    proto = onnx.load(str(exported))
    onnx.checker.check_model(proto, full_check=True)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in proto.graph.input] == ["lr_curr", "lr_prev", "hr_prev"]
    assert [o.name for o in proto.graph.output] == ["hr_curr"]
    assert "GridSample" in {n.op_type for n in proto.graph.node}
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert all(isinstance(d[2], str) and isinstance(d[3], str) for d in dims)  # symbolic H, W
    meta = read_metadata(exported)
    assert ModelSpec.from_dict(json.loads(meta["edgevsr.spec"])) == ModelSpec.of(egvsr, "egvsr")
    assert meta["edgevsr.precision"] == "fp32"
    assert meta["edgevsr.weights_hash"] == weights_hash(egvsr)
    assert meta["edgevsr.scale"] == "4" and meta["edgevsr.preprocessing"] == "RGB, [0,1], NCHW"
    assert OnnxRuntimeRunner(exported).spec.name == "egvsr"


@pytest.mark.parametrize("shape", [(32, 48), (40, 64)])
def test_ort_matches_pytorch_on_real_frames(fixtures, exported, egvsr, shape):
    steps = record_steps(TorchRunner(egvsr, ModelSpec.of(egvsr, "egvsr")), _frames(fixtures, 3, shape))
    assert len(steps) == 3 and steps[2][2].shape == (1, 3, 4 * shape[0], 4 * shape[1])
    assert np.abs(steps[2][2]).max() > 0  # hr_prev is the model's real previous output, not zeros
    err = compare_with_torch(egvsr, exported, steps)
    assert err < 1e-4


def test_fixed_shape_export(tmp_path, egvsr, fixtures):
    path = tmp_path / "fixed.onnx"
    export_onnx(egvsr, "egvsr", path, shape=parse_shape("1x3x32x48"))
    proto = onnx.load(str(path))
    dims = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert dims == [[1, 3, 32, 48], [1, 3, 32, 48], [1, 3, 128, 192]]
    with OnnxRuntimeRunner(path) as r:
        steps = record_steps(r, _frames(fixtures, 2, (32, 48)))
    assert compare_with_torch(egvsr, path, steps) < 1e-4


def test_bad_shape_and_opset_write_nothing(tmp_path, egvsr):
    path = tmp_path / "bad.onnx"
    with pytest.raises(EdgeVSRError, match="multiples of 8"):
        export_onnx(egvsr, "egvsr", path, shape=(30, 48))
    with pytest.raises(EdgeVSRError, match="opset"):
        export_onnx(egvsr, "egvsr", path, opset=13)
    with pytest.raises(EdgeVSRError, match="1x3xHxW"):
        parse_shape("480p")
    assert list(tmp_path.iterdir()) == []


def test_not_an_edgevsr_onnx_is_refused(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(EdgeVSRError, match="junk.onnx"):
        read_metadata(junk)
    plain = tmp_path / "plain.onnx"
    g = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                               [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(g), str(plain))
    with pytest.raises(EdgeVSRError, match="not an edgevsr export"):
        read_metadata(plain)



class _BatchNormSR(VSRModel):
    """A small single-frame x4 SR net with Conv -> BatchNorm pairs (SRResNet style), trained-looking BN statistics."""

    kind = "single"
    size_multiple = 1
    input_names = ("lr",)
    picture_inputs = ("lr",)
    output_names = ("hr",)

    def __init__(self):
        super().__init__()
        c = torch.nn
        self.body = c.Sequential(c.Conv2d(3, 16, 3, padding=1), c.BatchNorm2d(16), c.PReLU(16),
                                 c.Conv2d(16, 16, 3, padding=1, bias=False), c.BatchNorm2d(16))
        self.tail = c.Sequential(c.Conv2d(16, 48, 3, padding=1), c.PixelShuffle(4))
        for bn in (self.body[1], self.body[4]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)

    def core(self, lr):
        return self.tail(self.body(lr))


def test_export_folds_batchnorm_and_keeps_outputs(tmp_path):
    """BN fusion is part of export: no BatchNormalization node, same output, the weights hash of the unfused model."""
    torch.manual_seed(0)
    net = _BatchNormSR().eval()
    info = export_onnx(net, "bn-sr", tmp_path / "bn.onnx")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "bn.onnx")).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Conv") == 3
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 2  # the caller's model is untouched
    assert info.weights_hash == weights_hash(net)
    x = np.random.default_rng(0).random((1, 3, 24, 32), np.float32)
    assert compare_with_torch(net, tmp_path / "bn.onnx", [(x,)]) < 1e-4
