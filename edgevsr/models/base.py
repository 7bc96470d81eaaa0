"""The common interface of every edgevsr model.

A model has a *kind*:
- ``single``: one LR frame in, one HR frame out;
- ``windowed``: a window of 2r+1 LR frames centred on the current one;
- ``recurrent``: the current and previous LR frames plus the model's own previous
  HR output (state).

``core(*inputs)`` is the exported graph (ONNX / TensorRT): its inputs are NCHW
float32 RGB in [0, 1] whose H and W are multiples of ``size_multiple``, named by
``input_names``. Padding, state and the window live outside the graph, in
:class:`edgevsr.stream.FrameUpscaler`, so every backend shares them.

``picture_inputs`` declares which inputs carry pictures: by this contract their range is exactly [0, 1],
so the INT8 quantizer takes it from here, not from calibration (a subclass that renames its inputs must
declare them again).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import nn

from edgevsr.models.ops import pad_to_multiple

Kind = Literal["single", "windowed", "recurrent"]


class VSRModel(nn.Module):
    kind: ClassVar[Kind] = "recurrent"
    scale: ClassVar[int] = 4
    size_multiple: ClassVar[int] = 8
    window: ClassVar[int] = 1  # frames seen per output (windowed models)
    input_names: ClassVar[tuple[str, ...]] = ("lr_curr", "lr_prev", "hr_prev")
    picture_inputs: ClassVar[tuple[str, ...]] = ("lr_curr", "lr_prev", "hr_prev")  # RGB in [0, 1] by contract
    output_names: ClassVar[tuple[str, ...]] = ("hr_curr",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.picture_inputs) - set(cls.input_names)
        if unknown:
            raise TypeError(f"{cls.__name__}: picture_inputs {sorted(unknown)} are not inputs {cls.input_names}")

    def core(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.core(*inputs)

    def deploy(self) -> VSRModel:
        """The form that is exported (ONNX, then FP16 / INT8): the same function as ``core``, arranged for
        the deployed precisions. Most models export as they train; weight files are always the training form."""
        return self

    def forward_sequence(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale a whole clip ``(N, T, C, H, W)`` exactly as streaming inference does (training, eval)."""
        n, t, c, h, w = lr.shape
        frames, ph, pw = pad_to_multiple(lr.reshape(n * t, c, h, w), self.size_multiple)
        frames = frames.reshape(n, t, c, h + ph, w + pw)
        out = self.run_padded_sequence(frames)
        return out[..., : h * self.scale, : w * self.scale]

    def run_padded_sequence(self, lr: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = lr.shape
        s = self.scale
        outs = []
        if self.kind == "recurrent":
            hr_prev = lr.new_zeros(n, c, h * s, w * s)
            for i in range(t):
                lr_prev = lr[:, i - 1] if i > 0 else lr[:, 0]
                hr_prev = self.core(lr[:, i], lr_prev, hr_prev)
                outs.append(hr_prev)
        elif self.kind == "windowed":
            r = self.window // 2
            for i in range(t):
                idx = [min(max(j, 0), t - 1) for j in range(i - r, i + r + 1)]  # replicate at clip ends
                outs.append(self.core(torch.cat([lr[:, j] for j in idx], dim=1)))
        else:
            outs = [self.core(lr[:, i]) for i in range(t)]
        return torch.stack(outs, dim=1)

    def example_inputs(self, height: int = 64, width: int = 64) -> tuple[torch.Tensor, ...]:
        """Inputs of the right shapes for ``core`` (export, profiling, tests)."""
        s = self.scale
        if self.kind == "recurrent":
            return (torch.rand(1, 3, height, width), torch.rand(1, 3, height, width),
                    torch.rand(1, 3, height * s, width * s))
        if self.kind == "windowed":
            return (torch.rand(1, 3 * self.window, height, width),)
        return (torch.rand(1, 3, height, width),)

    def macs_per_lr_pixel(self) -> float:
        """Multiply-accumulates per input pixel, counted on a traced forward (for FLOP/roofline figures)."""
        from edgevsr.models.flops import count_macs

        h = w = 64
        return count_macs(self, self.example_inputs(h, w)) / (h * w)
