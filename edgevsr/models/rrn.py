"""RRN-style flow-free recurrent generators (after Isobe et al., "Revisiting Temporal Modeling for Video
Super-resolution", BMVC 2020): the previous output propagates without optical flow.

Each step concatenates the current and previous LR frames with the previous HR output folded to LR
resolution (space-to-depth), runs plain residual blocks, and adds a learnt residual to a bicubic base in
the sub-pixel (phase) domain before one depth-to-space. There is no flow, no warp and no resize: the graph
is convolutions, ReLU, adds and one concat, which is what TensorRT's DLA and INT8 run best. So that nothing
falls outside the DLA's layer list, space-to-depth is a fixed one-hot strided convolution and
depth-to-space a fixed one-hot transposed convolution (groups = 1, as the DLA requires), not
Reshape/Transpose or DepthToSpace nodes.

The recurrent state is the previous HR output (as RRN's second recurrent input), so the model keeps the
zoo's ``(lr_curr, lr_prev, hr_prev) -> hr_curr`` interface and every backend, quantizer and runner takes it
unchanged; RRN's separate feature state is left out because it would need a second state tensor in that
interface.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgevsr.models.base import VSRModel
from edgevsr.models.ops import _cubic_phase_weights


def _phase_kernel(scale: int, channels: int = 3) -> torch.Tensor:
    """One-hot ``(channels * scale^2, channels, scale, scale)``: output ``c * s^2 + i * s + j`` is input
    channel ``c`` at offset ``(i, j)``; PixelShuffle's channel order."""
    k = torch.zeros(channels * scale * scale, channels, scale, scale)
    for c in range(channels):
        for i in range(scale):
            for j in range(scale):
                k[c * scale * scale + i * scale + j, c, i, j] = 1.0
    return k


def bicubic_phase_kernel(scale: int, channels: int = 3) -> torch.Tensor:
    """A 5x5 conv (zero padding 2) giving the ``scale^2`` phases of TecoGAN's grid-aligned bicubic upsample.

    The 4x4 cubic taps cover LR offsets -1..2; placed in a 5x5 kernel (offsets -2..2, first row and column
    zero) the padding is symmetric, which every TensorRT/DLA convolution takes.
    """
    wk = _cubic_phase_weights(scale).float()
    taps = torch.einsum("ia,jb->ijab", wk, wk).reshape(scale * scale, 4, 4)
    k = torch.zeros(channels * scale * scale, channels, 5, 5)
    for c in range(channels):
        k[c * scale * scale:(c + 1) * scale * scale, c, 1:, 1:] = taps
    return k


class PhaseFold(nn.Module):
    """Space-to-depth as a fixed one-hot convolution with stride ``scale`` (a DLA layer; exact in INT8)."""

    def __init__(self, scale: int, channels: int = 3):
        super().__init__()
        self.scale = scale
        self.register_buffer("weight", _phase_kernel(scale, channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight.to(x.dtype), stride=self.scale)


class PhaseUnfold(PhaseFold):
    """Depth-to-space (PixelShuffle) as a fixed one-hot transposed convolution, groups = 1 as the DLA needs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.weight.to(x.dtype), stride=self.scale)


class ConcatConv(nn.Conv2d):
    """A convolution over its inputs joined on channels: the Concat belongs to this layer (its module scope), so
    the FP16 form and the DLA keep it with the conv instead of leaving it an FP32 node between the graph inputs
    and the first FP16 layer."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(torch.cat(inputs, dim=1))


class ResBlock(nn.Module):
    def __init__(self, nf: int):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class RRNet(VSRModel):
    """One recurrent step without flow: ``[lr_curr, lr_prev, s2d(hr_prev)]`` -> residual blocks -> phases.

    ``skip`` starts as the exact bicubic phases and ``conv_out`` at zero, so an untrained model is bicubic on
    BD's grid (at the borders, with zero instead of replicated padding) and training only adds detail.
    """

    kind = "recurrent"

    def __init__(self, nf: int = 64, nb: int = 6):
        super().__init__()
        s, c = self.scale, 3
        self.fold = PhaseFold(s, c)
        self.unfold = PhaseUnfold(s, c)
        self.conv_in = ConcatConv(2 * c + s * s * c, nf, 3, 1, 1)
        self.blocks = nn.Sequential(*[ResBlock(nf) for _ in range(nb)])
        self.conv_out = nn.Conv2d(nf, s * s * c, 3, 1, 1)
        self.skip = nn.Conv2d(c, s * s * c, 5, 1, 2)
        with torch.no_grad():
            self.conv_out.weight.zero_()
            self.conv_out.bias.zero_()
            self.skip.weight.copy_(bicubic_phase_kernel(s, c))
            self.skip.bias.zero_()

    def core(self, lr_curr: torch.Tensor, lr_prev: torch.Tensor, hr_prev: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.conv_in(lr_curr, lr_prev, self.fold(hr_prev)))
        return self.unfold(self.conv_out(self.blocks(feat)) + self.skip(lr_curr))

    def quiet(self) -> None:
        """Back to exactly bicubic (zero residual), as a fresh model starts."""
        with torch.no_grad():
            self.conv_out.weight.zero_()
            self.conv_out.bias.zero_()


class RRN(RRNet):
    """The edge-native model: 64 channels x 6 residual blocks, about 56 % of EGVSR's MACs."""

    def __init__(self):
        super().__init__(nf=64, nb=6)


class RRNLite(RRNet):
    """The light variant: 48 channels x 5 residual blocks, a little under EGVSR-lite's MACs."""

    def __init__(self):
        super().__init__(nf=48, nb=5)
