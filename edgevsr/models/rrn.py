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
    """Depth-to-space (PixelShuffle) as a fixed one-hot transposed convolution, groups = 1 as the DLA needs.

    ``offset`` is added to every output pixel (the transposed convolution's bias): the deploy form's phases are
    centred on 0 and this puts the 0.5 back (exact: each output pixel is one input value plus the bias)."""

    def __init__(self, scale: int, channels: int = 3, offset: float = 0.0):
        super().__init__(scale, channels)
        self.register_buffer("bias", torch.full((channels,), offset) if offset else None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.conv_transpose2d(x, self.weight.to(x.dtype), bias, stride=self.scale)


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

    def deploy(self) -> RRNetDeploy:
        """The exported graph (ONNX, then INT8): the same function, in a form that INT8 represents well."""
        return RRNetDeploy(self)

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


def split_for_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` as ``coarse + fine``: ``coarse`` on the per-output-channel symmetric INT8 grid (scale
    ``max|w| / 127``, as both of edgevsr's INT8 forms quantize weights), so INT8 keeps it exactly, and ``fine``
    the rounding residual (at most half a step), which its own per-channel scale keeps to about 1/254 of one:
    about 15 bits of weight precision from two INT8 convolutions."""
    w = weight.detach().double()
    amax = w.abs().flatten(1).amax(1).clamp_min(1e-12).reshape(-1, *[1] * (w.dim() - 1))
    coarse = torch.round(w * 127 / amax) * (amax / 127)
    coarse = coarse.to(weight.dtype)
    return coarse, (weight.detach() - coarse)


class RRNetDeploy(VSRModel):
    """What :meth:`RRNet.deploy` exports: the same output as the training form (to float rounding, ~1e-7),
    with the picture path arranged for full INT8 (issue 27; the diagnosis is in the training log):

    - the 5x5 ``skip`` (the bicubic base, i.e. the picture itself) is split into two convolutions,
      ``skip`` (its weights rounded to the INT8 grid) plus ``skip_fine`` (the rounding residual): rounded to
      8 bits in one piece, its 75 taps per phase sum to a DC gain up to 3 % off, a fixed 4x4 pattern that cost
      1.5 dB on clean clips;
    - the phases before depth-to-space are centred on 0 (0.5 taken off the skip's bias, put back by
      ``unfold``'s), so the output's symmetric INT8 uses both halves of its codes.

    The inputs keep their [0, 1] interface and zero padding (centring them would move the border), and the
    weight files are the training form's: this is made from it at export.
    """

    kind = "recurrent"
    CENTRE = 0.5

    def __init__(self, net: RRNet):
        super().__init__()
        s, c = net.scale, net.skip.in_channels
        self.fold, self.conv_in, self.blocks, self.conv_out = net.fold, net.conv_in, net.blocks, net.conv_out
        coarse, fine = split_for_int8(net.skip.weight)
        k, p = net.skip.kernel_size, net.skip.padding
        self.skip = nn.Conv2d(c, s * s * c, k, 1, p)
        self.skip_fine = nn.Conv2d(c, s * s * c, k, 1, p, bias=False)
        self.unfold = PhaseUnfold(s, c, offset=self.CENTRE)
        with torch.no_grad():
            self.skip.weight.copy_(coarse)
            self.skip.bias.copy_(net.skip.bias.detach() - self.CENTRE)
            self.skip_fine.weight.copy_(fine)
        self.to(net.skip.weight.device)

    def core(self, lr_curr: torch.Tensor, lr_prev: torch.Tensor, hr_prev: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.conv_in(lr_curr, lr_prev, self.fold(hr_prev)))
        return self.unfold(self.conv_out(self.blocks(feat)) + self.skip(lr_curr) + self.skip_fine(lr_curr))
