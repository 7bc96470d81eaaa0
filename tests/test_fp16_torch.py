"""FP16 on the torch path keeps the warp grid and the flow scaling in FP32 (issue 17, item 9).

FP16 pixel coordinates above 2048 are 2 px apart, so a half-precision grid is
~1.9 px off at HR width 3840 and the recurrence compounds the error (the old
code gave 12.6 / 12.6 / 12.5 dB FP16 vs FP32 on the pan below). CPU FP16
convolution is slow, so the clip is a 960x8 strip of a real photo: the width is
what matters for the grid; the height only costs time.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from edgevsr.backends.torch.runner import TorchRunner
from edgevsr.models.ops import backward_warp
from edgevsr.models.spec import ModelSpec
from edgevsr.quality.metrics import psnr
from edgevsr.stream import FrameUpscaler
from edgevsr.weights import load_model

STRIP = Path(__file__).resolve().parent / "data" / "footage" / "dog_walkway_1280x8.png"  # a real 1280x8 strip


def test_half_warp_matches_fp32_at_4k_width():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 8, 3840, generator=g).half()
    flow = (torch.randn(1, 2, 8, 3840, generator=g) * 3).half()
    ref = backward_warp(x.float(), flow.float())
    half = backward_warp(x, flow)
    assert half.dtype == torch.float16
    assert (half.float() - ref).abs().max() < 2e-3  # FP16 rounding of the result only; the old grid: > 0.3


@pytest.mark.slow
def test_fp16_pan_at_hr_width_3840_stays_within_40db_of_fp32():
    img = cv2.cvtColor(cv2.imread(str(STRIP)), cv2.COLOR_BGR2RGB)
    frames = [np.ascontiguousarray(img[:, 5 * i: 5 * i + 960]) for i in range(3)]  # pan 5 px / frame
    outs = {}
    for precision in ("fp32", "fp16"):
        model, _ = load_model("egvsr-lite")
        up = FrameUpscaler(TorchRunner(model, ModelSpec.of(model, "egvsr-lite"), precision=precision))
        outs[precision] = [up.push(f)[0] for f in frames]
    assert outs["fp32"][0].shape == (32, 3840, 3)
    scores = [psnr(a, b) for a, b in zip(outs["fp16"], outs["fp32"])]
    assert min(scores) >= 40.0, scores
