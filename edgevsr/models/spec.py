"""What a runtime needs to know about a model graph, whichever backend runs it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # single | windowed | recurrent
    scale: int = 4
    size_multiple: int = 8
    window: int = 1
    input_names: tuple[str, ...] = ("lr_curr", "lr_prev", "hr_prev")
    output_names: tuple[str, ...] = ("hr_curr",)
    picture_inputs: tuple[str, ...] = ()  # inputs that carry pictures, RGB in [0, 1] by the model's contract

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        d = dict(d)
        d["input_names"] = tuple(d["input_names"])
        d["output_names"] = tuple(d["output_names"])
        # exports made before the declaration: every input, which core's contract (models/base.py) was then too
        d["picture_inputs"] = tuple(d.get("picture_inputs", d["input_names"]))
        return cls(**d)

    @classmethod
    def of(cls, model, name: str) -> ModelSpec:
        return cls(name, model.kind, model.scale, model.size_multiple, model.window,
                   tuple(model.input_names), tuple(model.output_names), tuple(model.picture_inputs))
