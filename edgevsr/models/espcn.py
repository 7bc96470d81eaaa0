"""ESPCN (Shi et al., CVPR 2016): single-image x4 super-resolution by sub-pixel convolution, on luma.

The network sees only the Y channel (BT.601 full range, as JPEG: the published weights
measured 27.99 dB on full-range luma against 27.95 dB on studio-range luma, BI x4
BasketballPass); Cb and Cr are upscaled bicubically
and the result is converted back to RGB, so ``core`` takes and returns RGB like every
other model. Parameter names follow the public EGVSR repository's
``espcn_x4_subconv_100.pth`` (its ``reconv`` / ``deconv`` tensors belong to
alternative up-samplers that the sub-pixel variant never runs; they are kept so the
checkpoint loads strictly).
"""

from __future__ import annotations

import torch
from torch import nn

from edgevsr.models.base import VSRModel
from edgevsr.models.ops import bicubic_upsample

# BT.601 full-range (JFIF) RGB -> YCbCr on [0, 1] values (rows: Y, Cb, Cr), and its exact inverse.
_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114],
                         [-0.168736, -0.331264, 0.5],
                         [0.5, -0.418688, -0.081312]])
_YCC_OFFSET = torch.tensor([0.0, 0.5, 0.5])
_YCC2RGB = torch.linalg.inv(_RGB2YCC)


def _mix(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    m = matrix.to(x)
    return torch.einsum("oc,nchw->nohw", m, x)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """NCHW RGB in [0, 1] -> YCbCr (BT.601 full range) in [0, 1]."""
    return _mix(rgb, _RGB2YCC) + _YCC_OFFSET.to(rgb).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (not clipped)."""
    return _mix(ycc - _YCC_OFFSET.to(ycc).view(1, 3, 1, 1), _YCC2RGB)


def luma_sr(rgb: torch.Tensor, y_hr: torch.Tensor, scale: int) -> torch.Tensor:
    """RGB frame whose luma is ``y_hr`` and whose chroma is ``rgb``'s, upscaled bicubically."""
    cbcr = bicubic_upsample(rgb_to_ycbcr(rgb)[:, 1:], scale)
    return ycbcr_to_rgb(torch.cat([y_hr, cbcr], dim=1))


class ESPCN(VSRModel):
    """Three tanh convolutions at LR, a 1x1 conv to 16 channels, PixelShuffle(4), sigmoid."""

    kind = "single"
    size_multiple = 1
    input_names = ("lr",)
    picture_inputs = ("lr",)
    output_names = ("hr",)

    def __init__(self):
        super().__init__()
        s2 = self.scale * self.scale
        self.conv1 = nn.Conv2d(1, 64, 5, 1, 2)
        self.conv2 = nn.Conv2d(64, 32, 3, 1, 1)
        self.conv3 = nn.Conv2d(32, 32, 3, 1, 1)
        self.pwconv = nn.Conv2d(32, s2, 1)
        self.pixel_shuffle = nn.PixelShuffle(self.scale)
        # Unused alternative heads of the published checkpoint (resize-conv, transposed conv).
        self.reconv = nn.Conv2d(32, 1, 1)
        self.deconv = nn.ConvTranspose2d(32, 1, 5, self.scale, 2, output_padding=self.scale - 1)

    def luma(self, y: torch.Tensor) -> torch.Tensor:
        """LR luma (N, 1, H, W) -> HR luma (N, 1, 4H, 4W)."""
        x = torch.tanh(self.conv1(y))
        x = torch.tanh(self.conv2(x))
        x = torch.tanh(self.conv3(x))
        return torch.sigmoid(self.pixel_shuffle(self.pwconv(x)))

    def core(self, lr: torch.Tensor) -> torch.Tensor:
        return luma_sr(lr, self.luma(rgb_to_ycbcr(lr)[:, :1]), self.scale)
