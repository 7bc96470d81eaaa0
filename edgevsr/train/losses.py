"""Generator losses and the training-time recurrent unroll (identical to streaming inference)."""

from __future__ import annotations

import torch

from edgevsr.models.base import VSRModel
from edgevsr.models.ops import backward_warp, space_to_depth, upsample_flow


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Smooth L1: sqrt(d^2 + eps^2), robust to outliers yet differentiable at 0."""
    return torch.sqrt((x - y) ** 2 + eps * eps).mean()


def unroll(model: VSRModel, lr: torch.Tensor, detach_flow: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the recurrent loop over ``lr (N, T, C, h, w)`` exactly as ``VSRModel.run_padded_sequence`` does.

    Returns the HR outputs ``(N, T, C, 4h, 4w)`` and the LR flows ``(N, T, 2, h, w)``
    (current -> previous; the first one compares frame 0 with itself), which the
    warping loss and the discriminator's motion compensation need.
    ``detach_flow``: the HR warp uses the flow without its gradient, so losses on the outputs do not reach
    FNet (while the flow teacher trains it: the pixel loss otherwise pushes an unsure FNet to zero flow).
    """
    n, t, c, h, w = lr.shape
    s = model.scale
    hr_prev = lr.new_zeros(n, c, h * s, w * s)
    outs, flows = [], []
    for i in range(t):
        lr_prev = lr[:, i - 1] if i > 0 else lr[:, 0]
        if detach_flow:
            lr_flow = model.fnet(lr[:, i], lr_prev)
            hr_warp = backward_warp(hr_prev, upsample_flow(lr_flow.detach(), s))
        else:
            lr_flow, hr_warp = model.flow_and_warp(lr[:, i], lr_prev, hr_prev)
        hr_prev = model.srnet(lr[:, i], space_to_depth(hr_warp, s))
        outs.append(hr_prev)
        flows.append(lr_flow)
    return torch.stack(outs, 1), torch.stack(flows, 1)


def windowed_flow_loss(model: VSRModel, lr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """A windowed model's own auxiliary flow loss (SOF-VSR's ``flow_loss``) on the window centred in the clip.

    Windowed models have no FNet to teach with :func:`warp_loss`; a model without
    such a loss trains on the pixel loss alone (zero here).
    """
    if not hasattr(model, "flow_loss"):
        return lr.new_zeros(())
    r, m = model.window // 2, lr.shape[1] // 2

    def window(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[:, j] for j in range(m - r, m + r + 1)], dim=1)

    return model.flow_loss(window(lr), window(hr))


def warp_loss(lr: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """|lr_t - warp(lr_{t-1}, flow_t)|: teaches FNet motion without ground-truth flow."""
    n, t, c, h, w = lr.shape
    prev = lr[:, :-1].reshape(-1, c, h, w)
    warped = backward_warp(prev, flows[:, 1:].reshape(-1, 2, h, w))
    return (warped - lr[:, 1:].reshape(-1, c, h, w)).abs().mean()


def temporal_loss(out: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Mean |e_t - e_{t-1}| with e = output - ground truth, over ``(N, T, C, H, W)`` windows.

    Detail a GAN invents differently in every frame is error that changes from
    frame to frame: the flicker that tOF and tLP measure. Error that stays put
    (and real motion, which the ground truth has too) costs nothing here.
    """
    e = out - hr
    return (e[:, 1:] - e[:, :-1]).abs().mean()


def warped_temporal_loss(out: torch.Tensor, hr: torch.Tensor, flows: torch.Tensor, scale: int) -> torch.Tensor:
    """Mean |e_t - warp(e_{t-1})|, the motion-compensated :func:`temporal_loss`.

    On moving content the plain loss also charges detail that moves *with* the content (its error shifts by the
    motion); warped along the model's own flow (``flows`` from :func:`unroll`, detached), only detail that
    changes between frames, the flicker, costs.
    """
    n, t, c, h, w = out.shape
    e = out - hr
    flow = upsample_flow(flows[:, 1:t].detach().reshape(-1, 2, h // scale, w // scale), scale)
    prev = backward_warp(e[:, :-1].reshape(-1, c, h, w), flow)
    return (e[:, 1:].reshape(-1, c, h, w) - prev).abs().mean()


def pingpong_loss(forward_out: torch.Tensor, backward_out: torch.Tensor) -> torch.Tensor:
    """TecoGAN ping-pong: outputs of the forward pass and of the reversed pass must agree frame by frame.

    ``backward_out`` is the output of the reversed sequence, in reversed order.
    """
    return (forward_out - backward_out.flip(1)).abs().mean()
