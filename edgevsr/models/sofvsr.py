"""SOF-VSR (Wang et al., ACCV 2018 / TIP 2020): super-resolving optical flow for video SR.

A windowed model over 3 frames, on luma like the original (chroma of the centre frame
is upscaled bicubically, see :func:`edgevsr.models.espcn.luma_sr`):

1. ``OFRnet`` estimates, for each neighbour, a flow onto the centre frame coarse to
   fine: at LR/2, at LR (residual refinement) and finally at HR (x4, a sub-pixel
   head plus the bilinearly upscaled LR flow); each level sees the neighbour warped
   by the previous level's flow and its residual against the centre frame.
2. Flow-to-space-to-depth: the HR flow is split into its 16 sub-pixel phases; each
   phase (divided by 4, now in LR pixels) warps the LR neighbour, giving 16 LR
   "drafts" per neighbour.
3. ``SRnet`` fuses the 3 frames and the 32 drafts (35 channels) with 5 residual
   dense blocks and a PixelShuffle(4) head.

Layer and parameter names follow the official implementation (``OFRnet.*``,
``SRnet.*``), and so do its flow units: a flow value of 1 moves by 15.5 pixels of the
level it is applied at. Luma is the full-range BT.601 Y of :mod:`edgevsr.models.espcn`
(the official code feeds studio-range Y, 16..235). No public weights are bundled or
available here: the model is an architecture to train, on ``forward_sequence``
outputs plus ``0.01 * flow_loss`` as the official training does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgevsr.models.base import VSRModel
from edgevsr.models.espcn import luma_sr, rgb_to_ycbcr
from edgevsr.models.ops import backward_warp

FLOW_UNIT = 15.5  # pixels per unit of SOF-VSR flow (the official warp scales by 31 / (w - 1) on [-1, 1])


def sof_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    return backward_warp(x, flow * FLOW_UNIT)


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, growth, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, F.leaky_relu(self.conv(x), 0.1)], dim=1)


class RDB(nn.Module):
    """Residual dense block: n densely connected 3x3 layers, a 1x1 fusion, a skip."""

    def __init__(self, n_layers: int, channels: int, growth: int):
        super().__init__()
        self.dense_layers = nn.Sequential(*[DenseLayer(channels + i * growth, growth) for i in range(n_layers)])
        self.conv_1x1 = nn.Conv2d(channels + n_layers * growth, channels, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_1x1(self.dense_layers(x))


class OFRnet(nn.Module):
    """Optical-flow reconstruction: (neighbour, centre) luma pair -> HR flow (N, 2, sH, sW)."""

    def __init__(self, scale: int = 4):
        super().__init__()
        self.scale = scale
        for level, cin, cout in ((1, 2, 2), (2, 6, 2), (3, 6, 2 * scale * scale)):
            setattr(self, f"conv_L{level}_1", nn.Conv2d(cin, 32, 3, 1, 1, bias=False))
            setattr(self, f"RDB{level}_1", RDB(4, 32, 32))
            setattr(self, f"RDB{level}_2", RDB(4, 32, 32))
            setattr(self, f"bottleneck_L{level}", nn.Conv2d(64, cout, 3, 1, 1, bias=False))
            setattr(self, f"conv_L{level}_2", nn.Conv2d(cout, cout, 3, 1, 1, bias=True))
        self.shuffle = nn.PixelShuffle(scale)

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        b1 = getattr(self, f"RDB{level}_1")(getattr(self, f"conv_L{level}_1")(x))
        b2 = getattr(self, f"RDB{level}_2")(b1)
        return getattr(self, f"conv_L{level}_2")(getattr(self, f"bottleneck_L{level}")(torch.cat([b1, b2], dim=1)))

    def _refine_input(self, pair: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        warped = sof_warp(pair[:, :1], flow)
        return torch.cat([pair, warped, pair[:, 1:] - warped, flow], dim=1)

    def levels(self, pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flows at LR/2, LR and HR (the first two feed the training loss, the last the drafts).

        As in the official code, the LR/2 flow is upsampled without doubling its values:
        the LR level's residual absorbs the difference (kept so official weights behave).
        """
        flow1 = self._level(1, F.avg_pool2d(pair, 2))
        flow1_up = F.interpolate(flow1, scale_factor=2, mode="bilinear", align_corners=False)
        flow2 = self._level(2, self._refine_input(pair, flow1_up)) + flow1_up
        flow3 = self.shuffle(self._level(3, self._refine_input(pair, flow2)))
        flow3 = flow3 + F.interpolate(flow2, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return flow1, flow2, flow3

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.levels(pair)[2]


def flow_reconstruction_loss(x0: torch.Tensor, x1: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """SOF-VSR's unsupervised flow loss: |x1 - warp(x0, flow)| + 0.1 * total variation of the flow."""
    tv = (flow[..., :-1, :-1] - flow[..., 1:, :-1]).abs() + (flow[..., :-1, :-1] - flow[..., :-1, 1:]).abs()
    return (x1 - sof_warp(x0, flow)).abs().mean() + 0.1 * tv.sum() / (tv.shape[0] * tv.shape[-2] * tv.shape[-1])


def _lumas(window: torch.Tensor) -> torch.Tensor:
    """(N, 9, H, W) RGB window -> (N, 3, H, W) lumas."""
    n, _, h, w = window.shape
    return rgb_to_ycbcr(window.reshape(n * 3, 3, h, w))[:, :1].reshape(n, 3, h, w)


def _neighbours(frames: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (2N, 1, H, W): the previous frames, then the next ones."""
    return torch.cat([frames[:, :1], frames[:, 2:]], dim=0)


def _centre_twice(frames: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (2N, 1, H, W): the centre frames, once per neighbour."""
    return torch.cat([frames[:, 1:2], frames[:, 1:2]], dim=0)


class SRnet(nn.Module):
    """35-channel draft cube -> HR luma: 5 residual dense blocks, all features fused, PixelShuffle head."""

    def __init__(self, scale: int = 4, in_nc: int = 35):
        super().__init__()
        self.conv = nn.Conv2d(in_nc, 64, 3, 1, 1, bias=False)
        for i in range(1, 6):
            setattr(self, f"RDB_{i}", RDB(5, 64, 32))
        self.bottleneck = nn.Conv2d(6 * 64, scale * scale, 1, 1, 0, bias=False)
        self.conv_2 = nn.Conv2d(scale * scale, scale * scale, 3, 1, 1, bias=True)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.conv(x)]
        for i in range(1, 6):
            feats.append(getattr(self, f"RDB_{i}")(feats[-1]))
        out = self.bottleneck(torch.cat(feats[1:] + feats[:1], dim=1))
        return self.shuffle(self.conv_2(out))


class SOFVSR(VSRModel):
    """3-frame SOF-VSR x4 on luma; ``core`` takes [prev, centre, next] RGB (9 channels), returns RGB."""

    kind = "windowed"
    window = 3
    input_names = ("lr_window",)
    picture_inputs = ("lr_window",)
    output_names = ("hr",)

    def __init__(self):
        super().__init__()
        s = self.scale
        self.OFRnet = OFRnet(s)
        self.SRnet = SRnet(s, 3 + 2 * s * s)

    def hr_flows(self, lumas: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) lumas -> HR flows (2N, 2, sH, sW): previous then next frame onto the centre."""
        return self.OFRnet(self._pairs(lumas))

    @staticmethod
    def _pairs(lumas: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (2N, 2, H, W): (prev, centre) pairs, then (next, centre) pairs."""
        return torch.cat([_neighbours(lumas), _centre_twice(lumas)], dim=1)

    def flow_loss(self, lr_window: torch.Tensor, hr_window: torch.Tensor) -> torch.Tensor:
        """The official training's auxiliary loss (add ``0.01 *`` it to the pixel loss of the centre frame).

        Each neighbour's flow must reconstruct the centre frame at every level: LR/2 (weight
        0.1), LR (0.2) and HR (1.0, on the ground-truth window), averaged over the two neighbours.
        """
        lr, hr = _lumas(lr_window), _lumas(hr_window)
        flow1, flow2, flow3 = self.OFRnet.levels(self._pairs(lr))
        pooled = F.avg_pool2d(lr, 2)
        loss1 = flow_reconstruction_loss(_neighbours(pooled), _centre_twice(pooled), flow1)
        loss2 = flow_reconstruction_loss(_neighbours(lr), _centre_twice(lr), flow2)
        loss3 = flow_reconstruction_loss(_neighbours(hr), _centre_twice(hr), flow3)
        return loss3 + 0.2 * loss2 + 0.1 * loss1

    def drafts(self, lumas: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
        """Flow-to-space-to-depth: each sub-pixel phase of the HR flow warps the LR neighbour (N, 2 s^2, H, W)."""
        n, _, h, w = lumas.shape
        s = self.scale
        p = s * s
        phases = flows.reshape(2 * n, 2, h, s, w, s).permute(0, 3, 5, 1, 2, 4).reshape(2 * n * p, 2, h, w)
        refs = _neighbours(lumas)[:, None].expand(2 * n, p, 1, h, w).reshape(2 * n * p, 1, h, w)
        warped = sof_warp(refs, phases / s).reshape(2, n, p, h, w)
        return warped.permute(1, 2, 0, 3, 4).reshape(n, 2 * p, h, w)  # phase-major, (prev, next) per phase

    def core(self, lr_window: torch.Tensor) -> torch.Tensor:
        lumas = _lumas(lr_window)
        cube = torch.cat([lumas, self.drafts(lumas, self.hr_flows(lumas))], dim=1)
        return luma_sr(lr_window[:, 3:6], self.SRnet(cube), self.scale)
