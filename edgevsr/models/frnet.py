"""EGVSR / FRVSR / TecoGAN generators: FNet optical flow + SRNet, frame-recurrent.

Parameter names follow the public EGVSR and TecoGAN-PyTorch checkpoints
(``fnet.encoder1.0.weight``, ``srnet.conv_in.0.weight``,
``srnet.resblocks.N.conv.0.weight``, ``srnet.conv_up.0.weight``,
``srnet.conv_out.weight``), so their owners can load them directly.
"""

from __future__ import annotations

import torch
from torch import nn

from edgevsr.models.base import VSRModel
from edgevsr.models.ops import (
    aligned_bicubic_upsample,
    backward_warp,
    bicubic_upsample,
    space_to_depth,
    upsample_flow,
)


def _conv_lrelu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=True), nn.LeakyReLU(0.2, inplace=True)]


class FNet(nn.Module):
    """U-shaped flow estimator at LR: three 2x poolings, three bilinear 2x upsamplings, tanh * 24 px."""

    def __init__(self, in_nc: int = 3, base: int = 32, max_flow: float = 24.0):
        super().__init__()
        b = base
        self.encoder1 = nn.Sequential(*_conv_lrelu(2 * in_nc, b), *_conv_lrelu(b, b), nn.MaxPool2d(2, 2))
        self.encoder2 = nn.Sequential(*_conv_lrelu(b, 2 * b), *_conv_lrelu(2 * b, 2 * b), nn.MaxPool2d(2, 2))
        self.encoder3 = nn.Sequential(*_conv_lrelu(2 * b, 4 * b), *_conv_lrelu(4 * b, 4 * b), nn.MaxPool2d(2, 2))
        self.decoder1 = nn.Sequential(*_conv_lrelu(4 * b, 8 * b), *_conv_lrelu(8 * b, 8 * b))
        self.decoder2 = nn.Sequential(*_conv_lrelu(8 * b, 4 * b), *_conv_lrelu(4 * b, 4 * b))
        self.decoder3 = nn.Sequential(*_conv_lrelu(4 * b, 2 * b), *_conv_lrelu(2 * b, 2 * b))
        self.flow = nn.Sequential(*_conv_lrelu(2 * b, b), nn.Conv2d(b, 2, 3, 1, 1, bias=True))
        self.max_flow = max_flow

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        up = nn.functional.interpolate
        out = self.encoder3(self.encoder2(self.encoder1(torch.cat([x1, x2], dim=1))))
        out = up(self.decoder1(out), scale_factor=2, mode="bilinear", align_corners=False)
        out = up(self.decoder2(out), scale_factor=2, mode="bilinear", align_corners=False)
        out = up(self.decoder3(out), scale_factor=2, mode="bilinear", align_corners=False)
        return torch.tanh(self.flow(out).float()) * self.max_flow  # flow scaling in FP32 (FP16 runs too)


class ResidualBlock(nn.Module):
    def __init__(self, nf: int):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(nf, nf, 3, 1, 1, bias=True), nn.ReLU(inplace=True),
                                  nn.Conv2d(nf, nf, 3, 1, 1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class SRNet(nn.Module):
    """LR frame + space-to-depth of the warped previous HR output -> HR frame (bicubic residual).

    The residual is TecoGAN's grid-aligned bicubic (HR pixel 4i on LR pixel i, as
    BD sampling defines it), so the network only adds detail and never has to
    undo a 1.5-pixel shift through its narrow head.

    ``upsampler="shuffle"`` is EGVSR's cheap sub-pixel head (PixelShuffle(4) to nf/16
    channels, ReLU, 3x3 conv to RGB); ``"deconv"`` is TecoGAN/FRVSR's two stride-2
    transposed convolutions followed by a 3x3 conv to RGB.
    """

    def __init__(self, in_nc: int = 3, nf: int = 64, nb: int = 10, scale: int = 4, upsampler: str = "shuffle"):
        super().__init__()
        self.scale = scale
        self.conv_in = nn.Sequential(nn.Conv2d((scale**2 + 1) * in_nc, nf, 3, 1, 1, bias=True), nn.ReLU(inplace=True))
        self.resblocks = nn.Sequential(*[ResidualBlock(nf) for _ in range(nb)])
        if upsampler == "shuffle":
            if nf % (scale * scale):
                raise ValueError(f"nf={nf} must be a multiple of {scale * scale} for PixelShuffle({scale})")
            self.conv_up = nn.Sequential(nn.PixelShuffle(scale), nn.ReLU(inplace=True))
            self.conv_out = nn.Conv2d(nf // (scale * scale), in_nc, 3, 1, 1, bias=True)
        elif upsampler == "deconv":
            self.conv_up = nn.Sequential(
                nn.ConvTranspose2d(nf, nf, 3, 2, 1, output_padding=1, bias=True), nn.ReLU(inplace=True),
                nn.ConvTranspose2d(nf, nf, 3, 2, 1, output_padding=1, bias=True), nn.ReLU(inplace=True))
            self.conv_out = nn.Conv2d(nf, in_nc, 3, 1, 1, bias=True)
        else:
            raise ValueError(f"unknown upsampler {upsampler!r}")

    def forward(self, lr_curr: torch.Tensor, hr_prev_s2d: torch.Tensor) -> torch.Tensor:
        out = self.conv_in(torch.cat([lr_curr, hr_prev_s2d], dim=1))
        out = self.conv_out(self.conv_up(self.resblocks(out)))
        return out + aligned_bicubic_upsample(lr_curr, self.scale)


class FRNet(VSRModel):
    """One recurrent step: flow(lr_curr, lr_prev) -> x4 -> warp hr_prev -> SRNet."""

    kind = "recurrent"

    def __init__(self, nf: int = 64, nb: int = 10, fnet_base: int = 32, upsampler: str = "shuffle"):
        super().__init__()
        self.fnet = FNet(3, fnet_base)
        self.srnet = SRNet(3, nf, nb, self.scale, upsampler)

    def flow_and_warp(self, lr_curr, lr_prev, hr_prev) -> tuple[torch.Tensor, torch.Tensor]:
        """LR flow (current -> previous) and the previous HR output warped onto the current frame."""
        lr_flow = self.fnet(lr_curr, lr_prev)  # FP32 even when the model runs in FP16, as is all below
        hr_flow = upsample_flow(lr_flow, self.scale)
        return lr_flow, backward_warp(hr_prev, hr_flow)

    def core(self, lr_curr: torch.Tensor, lr_prev: torch.Tensor, hr_prev: torch.Tensor) -> torch.Tensor:
        _, hr_warp = self.flow_and_warp(lr_curr, lr_prev, hr_prev)
        return self.srnet(lr_curr, space_to_depth(hr_warp, self.scale))


class EGVSR(FRNet):
    """EGVSR generator: 10 residual blocks, 64 channels, sub-pixel head (~2.51 M parameters)."""

    def __init__(self):
        super().__init__(nf=64, nb=10, fnet_base=32, upsampler="shuffle")


class EGVSRLite(FRNet):
    """For Orin Nano / Xavier NX: FNet at half width, SRNet 48 channels x 5 blocks (~3.4x fewer MACs)."""

    def __init__(self):
        super().__init__(nf=48, nb=5, fnet_base=16, upsampler="shuffle")


class FRVSR(FRNet):
    """FRVSR / TecoGAN generator: 16 residual blocks, two stride-2 transposed convolutions."""

    def __init__(self):
        super().__init__(nf=64, nb=16, fnet_base=32, upsampler="deconv")


class Bicubic(VSRModel):
    """The baseline every report compares against: bicubic x4 (a = -0.75, half-pixel centres, as OpenCV
    and ffmpeg scale video), no parameters."""

    kind = "single"
    size_multiple = 1
    input_names = ("lr",)
    picture_inputs = ("lr",)
    output_names = ("hr",)

    def core(self, lr: torch.Tensor) -> torch.Tensor:
        return bicubic_upsample(lr, self.scale)


class BicubicBD(Bicubic):
    """Bicubic on BD's sampling grid (TecoGAN's upsampler): the stronger, fair baseline for BD x4 inputs."""

    def core(self, lr: torch.Tensor) -> torch.Tensor:
        return aligned_bicubic_upsample(lr, self.scale)
