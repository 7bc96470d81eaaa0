"""The fast torch CUDA path (FP16 with the grid in FP32, channels_last, CUDA graphs, torch.compile) against the
CPU FP32 output on a real panned clip (issue 17). Skips without a CUDA GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import moving_clip

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.models.spec import ModelSpec
from edgevsr.quality.metrics import psnr
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import load_model

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible to PyTorch)")]

MODES = {"fp32": ({"precision": "fp32"}, 50.0),
         "fp16": ({"precision": "fp16"}, 40.0),
         "fp16 channels_last": ({"precision": "fp16", "channels_last": True}, 40.0),
         "fp16 cuda_graph": ({"precision": "fp16", "channels_last": True, "cuda_graph": True}, 40.0),
         "fp16 compile": ({"precision": "fp16", "compile": True}, 40.0)}


def _run(name: str, frames: list[np.ndarray], device: str, **kw) -> list[np.ndarray]:
    model, _ = load_model(name)
    up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, name), device, **kw))
    return [up.push(f)[0] for f in frames]


@pytest.fixture(scope="module")
def clip_and_reference():
    frames = moving_clip(n=6, h=136, w=960)  # HR width 3840: where a half grid would be 1.9 px off
    return frames, _run("egvsr-lite", frames, "cpu", precision="fp32")


@pytest.mark.parametrize("mode", list(MODES))
def test_cuda_modes_match_cpu_fp32(clip_and_reference, mode):
    frames, ref = clip_and_reference
    kw, floor = MODES[mode]
    got = _run("egvsr-lite", frames, "cuda", **kw)
    scores = [psnr(a, b) for a, b in zip(got, ref)]
    assert min(scores) >= floor, (mode, scores)
