"""Named weights and safe checkpoint loading.

Shipped weights live in ``edgevsr/weights/files/<name>.safetensors`` with a JSON
card beside them (training config, data, iterations, validation metrics). Any
other checkpoint is loaded from a path: ``.safetensors`` or a ``.pth`` read with
``torch.load(weights_only=True)`` (never arbitrary unpickling).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from edgevsr.errors import EdgeVSRError, torch_load_reason
from edgevsr.models import build_model
from edgevsr.models.base import VSRModel

FILES = Path(__file__).parent / "files"

# Keys some checkpoints wrap their state dict in.
_WRAPPERS = ("state_dict", "params", "model", "generator", "net_G")


@dataclass(frozen=True)
class WeightCard:
    name: str
    model: str
    path: Path
    info: dict

    @property
    def summary(self) -> str:
        v = self.info.get("validation", {})
        bits = [f"{k}={v[k]}" for k in ("psnr_y", "psnr_y_bicubic", "lpips", "tof") if k in v]
        stage, its = self.info.get("stage", "?"), self.info.get("iterations", "?")
        return f"{self.name} ({self.model}, {stage}, {its} it) " + " ".join(bits)


def shipped_weights() -> dict[str, WeightCard]:
    """Weights bundled with the package, by name (``egvsr``, ``egvsr-stage1``, ...)."""
    cards = {}
    for card in sorted(FILES.glob("*.json")):
        info = json.loads(card.read_text())
        st = card.with_suffix(".safetensors")
        if st.exists():
            cards[card.stem] = WeightCard(card.stem, info["model"], st, info)
    return cards


def default_weights(model: str) -> WeightCard | None:
    """The shipped weights a model uses when none are given (the card marked ``default``)."""
    for card in shipped_weights().values():
        if card.model == model and card.info.get("default"):
            return card
    return None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, loaded without executing any pickled code."""
    return read_hashed_state_dict(path)[0]


def read_hashed_state_dict(path: str | Path, check=None) -> tuple[dict[str, torch.Tensor], str]:
    """``read_state_dict`` and the SHA-256 of the very bytes it loaded: a card or a check that hashed the file in a
    second read could name weights other than those loaded, were the file replaced in between. ``check(sha256)``
    runs before the bytes are parsed, so a file whose hash is not the expected one is refused as such, not as
    unreadable."""
    import io

    path = Path(path)
    if not path.is_file():
        raise EdgeVSRError(f"{path}: weights file not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdgeVSRError(f"{path}: cannot read weights: {exc.strerror or exc}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if check is not None:
        check(sha256)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load

            sd = load(data)
        else:
            import warnings

            with warnings.catch_warnings():  # torch's advice about pickle protocols is not the user's business
                warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
                sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with forbidden globals, ...
        raise EdgeVSRError(f"{path}: cannot read weights: {torch_load_reason(exc)}") from None
    for key in _WRAPPERS:
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise EdgeVSRError(f"{path}: not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in sd.items()}, sha256


def load_into(model: nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """Copy a state dict into a model, or fail listing the first mismatching keys/shapes."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k} {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}" for k in own
              if k in sd and sd[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"shape mismatch {len(shapes)} (e.g. {'; '.join(shapes[:2])})")
        raise EdgeVSRError(f"{source}: weights do not match model {type(model).__name__}: " + "; ".join(parts))
    bad = next((k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)
    if bad is not None:
        raise EdgeVSRError(f"{source}: weight {bad} holds NaN or Inf values; the model would write black frames "
                           "(a diverged training run?)")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()})


def file_sha256(path: str | Path | None) -> str | None:
    """SHA-256 of a file's bytes (a card's record of the weights a run started from); None without a file."""
    p = Path(path) if path else None
    return hashlib.sha256(p.read_bytes()).hexdigest() if p is not None and p.is_file() else None


def weights_hash(model: nn.Module) -> str:
    """Short SHA-256 of a model's parameters (recorded in exports and reports)."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def load_model(name: str, weights: str | Path | None = None, allow_random: bool = False) -> tuple[VSRModel, str]:
    """Build a model and load its weights: a path, a shipped name, or the model's default.

    Returns the model and a description of where its weights came from. A model
    with parameters but no weights is refused unless ``allow_random`` (a random
    network must never pass silently for a trained one).
    """
    model = build_model(name)
    card = None
    if weights is None:
        if not any(True for _ in model.parameters()):
            return model, "no parameters"
        card = default_weights(name)
        if card is None:
            if allow_random:
                return model, "RANDOM (untrained)"
            raise EdgeVSRError(
                f"model {name!r} has no trained weights shipped with this edgevsr version; pass --weights PATH")
        weights = card.path
        source = f"shipped:{card.name}"
    elif str(weights) in shipped_weights():
        card = shipped_weights()[str(weights)]
        if card.model != name:
            raise EdgeVSRError(f"shipped weights {card.name!r} belong to model {card.model!r}, not {name!r}")
        weights, source = card.path, f"shipped:{card.name}"
    else:
        source = str(weights)
    check = None if card is None else lambda got: check_card(card, got)
    load_into(model, read_hashed_state_dict(weights, check)[0], source)
    return model.eval(), source


def check_card(card: WeightCard, got: str) -> None:
    """A shipped file whose bytes (SHA-256 ``got``, of the bytes being loaded) differ from its card's SHA-256
    (damaged install, bad copy) is refused."""
    want = card.info.get("sha256")
    if want is None:
        raise EdgeVSRError(f"shipped weights {card.name!r}: the card records no SHA-256; reinstall edgevsr")
    if got != want:
        raise EdgeVSRError(f"{card.path}: SHA-256 {got[:12]}... differs from its card's {want[:12]}...: the file is "
                           "damaged; reinstall edgevsr")


def save_weights(model: nn.Module, path: str | Path, info: dict, fp16: bool = True) -> None:
    """Write safetensors (FP16 storage by default) plus its JSON card, atomically."""
    from safetensors.torch import save_file

    from edgevsr.io.atomic import atomic_path

    path = Path(path)
    sd = {k: (v.half() if fp16 and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp))
    info = {**info, "sha256": file_sha256(path)}  # checked on every load of a shipped file (check_card)
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(info, indent=2))
