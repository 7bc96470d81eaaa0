"""A classical optical-flow teacher for FNet, and the warp-error diagnostic of the recurrence.

The recurrence only helps if FNet's flow is right: the previous HR output is
warped onto the current frame with it. The unsupervised warping loss on LR frames
teaches FNet slowly (tiny LR crops, aperture problem on fine texture), so early in
training FNet is also pulled towards OpenCV's DIS flow computed on the *HR*
frames (4x the detail FNet sees), area-averaged to the LR grid. Pixels where the
teacher itself does not explain the HR motion (occlusions, flicker: its warp
error above a threshold) are left out.

The diagnostic (:func:`warp_errors`) measures, on held-out clips, how well the
previous HR output warped by the model's own flow matches the current ground
truth frame, next to the same warp of the ground truth (flow quality alone) and
no motion compensation at all.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from edgevsr.models.ops import backward_warp, pad_to_multiple, upsample_flow

PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def dis_flow(cur: np.ndarray, prev: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Flow f (H, W, 2), in pixels, with prev(x + f(x)) ~ cur(x): the direction FNet's flow has."""
    return cv2.DISOpticalFlow_create(PRESETS[preset]).calc(cur, prev, None)


@torch.no_grad()
def teacher_flows(hr: torch.Tensor, scale: int = 4, max_error: float = 0.06, preset: str = "medium",
                  workers: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher LR flows ``(N, T, 2, H/s, W/s)`` (current -> previous) and their validity mask ``(N, T, 1, h, w)``.

    Frame 0 is compared with itself, as in the recurrent unroll (flow 0, mask 0: nothing to teach).
    ``workers`` > 1 runs the frame pairs in threads (OpenCV releases the GIL): a GPU step waits on this.
    """
    n, t, _, h, w = hr.shape
    grey = (0.299 * hr[:, :, 0] + 0.587 * hr[:, :, 1] + 0.114 * hr[:, :, 2]).clamp(0, 1).mul(255).round()
    grey = grey.byte().cpu().numpy()
    pairs = [(b, i) for b in range(n) for i in range(1, t)]

    def one(pair: tuple[int, int]) -> np.ndarray:
        b, i = pair
        return dis_flow(grey[b, i], grey[b, i - 1], preset)

    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, pairs))
    else:
        results = [one(p) for p in pairs]
    flows = torch.zeros(n, t, h, w, 2)
    for (b, i), f in zip(pairs, results, strict=True):
        flows[b, i] = torch.from_numpy(f)
    flows = flows.permute(0, 1, 4, 2, 3).contiguous().to(hr.device, hr.dtype)
    prev = hr[:, :-1].flatten(0, 1)
    err = (backward_warp(prev, flows[:, 1:].flatten(0, 1)) - hr[:, 1:].flatten(0, 1)).abs().mean(1, keepdim=True)
    valid = torch.cat([torch.zeros_like(err[:n]).unflatten(0, (n, 1)),
                       (err < max_error).float().unflatten(0, (n, t - 1))], 1)
    lr_flows = F.avg_pool2d(flows.flatten(0, 1), scale).unflatten(0, (n, t)) / scale
    lr_valid = (F.avg_pool2d(valid.flatten(0, 1), scale) > 0.99).float().unflatten(0, (n, t))
    return lr_flows, lr_valid


def teacher_loss(flows: torch.Tensor, teacher: torch.Tensor, valid: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """Charbonnier distance (LR pixels) between FNet's flows and the teacher's where the teacher is valid."""
    d = torch.sqrt(((flows - teacher) ** 2).sum(2, keepdim=True) + eps * eps)
    return (d * valid).sum() / valid.sum().clamp_min(1.0)


def fresh_fnet(model: torch.nn.Module) -> None:
    """Re-initialise FNet: Kaiming-normal for its LeakyReLU(0.2) convs, a near-zero last layer (~0.05 px at first).

    The shipped stage-1/2 FNets had collapsed: activations fade layer by layer to a near-constant ~0.04 px
    output, encoder gradients ~1e-6, and 300 teacher iterations did not move them (docs/experiments/reviving-fnet.md).
    PyTorch's default conv init does the same to a fresh FNet (14 convs deep: the feature std before the
    head is ~0.02 on real frames, and 40 teacher steps left its loss at 1.49 of 1.51), while Kaiming
    init keeps the signal (std ~0.17) and the teacher loss falls to 0.36 in those 40 steps. The last layer
    starts tiny (SRNet is not fed garbage warps) but not at zero: with a zero last layer no gradient reaches
    the rest of FNet, and on random batches the last layer alone barely moved (weights std 1e-4 after 110
    iterations, flow EPE unchanged).
    """
    fnet = getattr(model, "fnet", None)
    if fnet is None:
        return
    convs = [m for m in fnet.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for m in convs[:-1]:
            torch.nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
            m.bias.zero_()
        convs[-1].weight.normal_(0.0, 3e-4)  # ~0.05 px of flow at first: small, but not zero
        convs[-1].bias.zero_()


def teacher_weight(weight: float, until: int, iteration: int) -> float:
    """The teacher's loss weight: ``weight`` for the first ``until`` iterations (0 = always), then joint training."""
    return weight if weight > 0 and (until <= 0 or iteration < until) else 0.0


@torch.no_grad()
def warp_errors(model, lr: torch.Tensor, out: torch.Tensor, gt: torch.Tensor, border: int = 8) -> dict[str, float]:
    """Mean |.| in 8-bit grey levels over frames 1..T-1 of one clip (``lr (T, 3, h, w)``, ``out``/``gt`` HR):

    - ``warp_err``: previous HR *output* warped by the model's flow vs the current ground truth (what the
      recurrence hands the next step, compared with what it should be);
    - ``warp_err_gt``: the previous *ground truth* warped by the model's flow (the flow's share of it);
    - ``warp_err_zero``: no motion compensation, ``|gt[t-1] - gt[t]|`` (what a useless flow would give).
    - ``flow_epe``: endpoint error (LR pixels) of the model's flow against the DIS teacher on the ground truth,
      where the teacher is valid (the shipped stage-1/2 FNets: ~1.4 px on bikes, whose motion is ~1.4 px:
      no flow at all).
    Empty for models without FNet.
    """
    if not hasattr(model, "fnet"):
        return {}
    s = model.scale
    lr_flow = clip_flows(model.fnet, lr, model.size_multiple)
    hr_flow = upsample_flow(lr_flow, s)
    c = slice(border, -border)

    def err(a: torch.Tensor) -> float:
        return float((a - gt[1:])[..., c, c].abs().mean() * 255)

    return {"warp_err": err(backward_warp(out[:-1], hr_flow)), "warp_err_gt": err(backward_warp(gt[:-1], hr_flow)),
            "warp_err_zero": err(gt[:-1]), "flow_epe": teacher_epe(lr_flow, gt, s)["flow_epe"]}


def endpoint_error(flow: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean endpoint error (LR px) where ``valid``; ``flow``/``target`` ``(N, 2, h, w)``, ``valid`` ``(N, 1, h, w)``."""
    epe = ((flow - target) ** 2).sum(1, keepdim=True).sqrt()
    return (epe * valid).sum() / valid.sum().clamp_min(1.0)


@torch.no_grad()
def clip_flows(fnet: torch.nn.Module, lr: torch.Tensor, multiple: int) -> torch.Tensor:
    """FNet's flows ``(T-1, 2, h, w)`` between consecutive frames of ``lr (T, 3, h, w)`` (padded, in chunks of 8)."""
    t, _, h, w = lr.shape
    padded, _, _ = pad_to_multiple(lr, multiple)
    cur, prev = padded[1:], padded[:-1]
    return torch.cat([fnet(cur[i:i + 8], prev[i:i + 8]) for i in range(0, t - 1, 8)])[..., :h, :w]


@torch.no_grad()
def teacher_epe(flows: torch.Tensor, gt: torch.Tensor, scale: int) -> dict[str, float]:
    """Endpoint error of LR ``flows`` (from :func:`clip_flows`) to the DIS teacher on ``gt (T, 3, H, W)``, and
    zero flow's, where the teacher is valid (the teacher is always DIS ``medium``, the most accurate preset)."""
    h, w = flows.shape[-2:]
    teacher, valid = teacher_flows(gt[None, :, :, : h * scale, : w * scale], scale)
    target, mask = teacher[0, 1:], valid[0, 1:]
    return {"flow_epe": float(endpoint_error(flows, target, mask)),
            "flow_epe_zero": float(endpoint_error(torch.zeros_like(target), target, mask))}
