"""What a TensorRT engine was built for: its JSON sidecar, shape profile and compatibility check.

A serialized engine only runs on the TensorRT version and GPU architecture that
built it; loading it elsewhere crashes or computes garbage. Every engine edgevsr
writes therefore carries ``<engine>.json`` (an :class:`EngineRecord`), checked
against the machine before the engine is deserialized. This module is pure
Python (no TensorRT import) so the checks are testable everywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec
from edgevsr.sizes import ENGINE_PROFILE, Size, fmt_size, parse_size  # the one size type and parser (re-exported)

RECORD_FORMAT = 1


@dataclass(frozen=True)
class ShapeProfile:
    """Smallest, most frequent and largest LR input size (width, height) an engine accepts.

    TensorRT picks kernels for ``opt`` and accepts anything between ``min`` and
    ``max``; sizes are the *padded* LR frame, so they must be multiples of the
    model's size multiple (8 for the EGVSR family).
    """

    min: Size
    opt: Size
    max: Size

    @classmethod
    def parse(cls, min: str, opt: str, max: str, multiple: int = 8) -> ShapeProfile:
        prof = cls(parse_size(min, "min"), parse_size(opt, "opt"), parse_size(max, "max"))
        prof.validate(multiple)
        return prof

    def validate(self, multiple: int = 8) -> None:
        for name, (w, h) in (("min", self.min), ("opt", self.opt), ("max", self.max)):
            if w <= 0 or h <= 0 or w % multiple or h % multiple:
                raise EdgeVSRError(f"--{name} {w}x{h}: width and height must be positive multiples of {multiple} "
                                   "(the padded LR input size)")
        for i, axis in enumerate(("width", "height")):
            if not self.min[i] <= self.opt[i] <= self.max[i]:
                raise EdgeVSRError(f"shape profile {self.describe()}: {axis} must satisfy min <= opt <= max")

    def contains(self, width: int, height: int) -> bool:
        return self.min[0] <= width <= self.max[0] and self.min[1] <= height <= self.max[1]

    def check(self, width: int, height: int, source: str | Path) -> None:
        """Refuse an input outside the profile (TensorRT would fail in ``set_input_shape``)."""
        if not self.contains(width, height):
            raise EdgeVSRError(
                f"{source}: padded LR input {width}x{height} is outside the engine's shape profile "
                f"({self.describe()}); rebuild with `edgevsr build ... --min/--max` covering it")

    @property
    def is_static(self) -> bool:
        return self.min == self.opt == self.max

    def describe(self) -> str:
        return f"min {fmt_size(self.min)}, opt {fmt_size(self.opt)}, max {fmt_size(self.max)}"

    def to_dict(self) -> dict:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, d: dict) -> ShapeProfile:
        return cls(tuple(d["min"]), tuple(d["opt"]), tuple(d["max"]))


# 136p..1080p LR input: covers the 480x270 -> 1080p and 960x540 -> 4K targets, 360p/720p sources, and the
# defaults of `edgevsr run` (test:// 320x180, padded 320x184) and `edgevsr profile` (240x136).
DEFAULT_PROFILE = ShapeProfile(*ENGINE_PROFILE)


def input_shapes(spec: ModelSpec, size: Size) -> dict[str, tuple[int, int, int, int]]:
    """NCHW shape of every graph input for an LR input of ``size`` (HR inputs are ``scale`` x larger)."""
    w, h = size
    s = spec.scale
    if spec.kind == "recurrent":
        lr_curr, lr_prev, hr_prev = spec.input_names
        return {lr_curr: (1, 3, h, w), lr_prev: (1, 3, h, w), hr_prev: (1, 3, h * s, w * s)}
    channels = 3 * spec.window if spec.kind == "windowed" else 3
    return {spec.input_names[0]: (1, channels, h, w)}


@dataclass(frozen=True)
class RuntimeEnv:
    """The facts an engine depends on: TensorRT version and GPU (name, compute capability, SMs, memory).

    The name alone does not identify a GPU: every Jetson Orin module reports "Orin" (AGX Orin 64 GB has 16 SMs,
    32 GB 14, Orin NX 8, Orin Nano 4 GB 4), so the SM count and memory (GiB, rounded) are part of the identity.
    0 means unknown (an environment described by hand).
    """

    trt_version: str
    gpu_name: str
    compute_capability: str  # "8.7"
    sm_count: int = 0
    memory_gib: int = 0


@dataclass
class EngineRecord:
    """The JSON sidecar of an engine: what, where and how it was built."""

    trt_version: str
    gpu_name: str
    compute_capability: str
    precision: str  # fp32 | fp16 | int8
    path: str  # explicit (strongly typed) | implicit (builder flags)
    profile: dict
    onnx_sha256: str
    spec: dict
    flags: dict = field(default_factory=dict)
    build_seconds: float = 0.0
    built_at: str = ""
    rebuild: str = ""
    cache_key: str = ""
    format: int = RECORD_FORMAT
    sm_count: int = 0  # 0: a record written before edgevsr keyed engines by SMs and memory
    memory_gib: int = 0

    def __post_init__(self) -> None:  # JSON-normal (tuples -> lists) so a record equals its reloaded self
        self.profile, self.spec, self.flags = json.loads(json.dumps([self.profile, self.spec, self.flags]))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EngineRecord:
        d = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def model_spec(self) -> ModelSpec:
        return ModelSpec.from_dict(self.spec)

    @property
    def shape_profile(self) -> ShapeProfile:
        return ShapeProfile.from_dict(self.profile)


def sidecar_path(engine: str | Path) -> Path:
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


def read_record(engine: str | Path) -> EngineRecord:
    """The provenance of ``engine``, or a one-line error if it has none (not built by `edgevsr build`)."""
    side = sidecar_path(engine)
    if not Path(engine).is_file():
        raise EdgeVSRError(f"{engine}: engine file not found")
    if not side.is_file():
        raise EdgeVSRError(f"{engine}: no provenance sidecar {side.name} beside it, so it cannot be checked "
                           "against this GPU/TensorRT; rebuild it with `edgevsr build MODEL.onnx -o ENGINE`")
    try:
        rec = EngineRecord.from_json(side.read_text())
    except (ValueError, TypeError) as exc:
        raise EdgeVSRError(f"{side}: unreadable provenance sidecar ({exc}); rebuild the engine") from None
    if rec.format != RECORD_FORMAT:
        raise EdgeVSRError(f"{side}: sidecar format {rec.format}, this edgevsr reads {RECORD_FORMAT}; "
                           f"rebuild with: {rec.rebuild or 'edgevsr build'}")
    return rec


def mismatches(record: EngineRecord, env: RuntimeEnv) -> list[str]:
    """Human-readable differences that make an engine unusable here (empty when compatible)."""
    out = []
    if record.trt_version != env.trt_version:
        out.append(f"TensorRT {record.trt_version} vs {env.trt_version} here")
    if record.compute_capability != env.compute_capability:
        out.append(f"compute capability {record.compute_capability} vs {env.compute_capability} here")
    if record.gpu_name != env.gpu_name:
        out.append(f"GPU {record.gpu_name!r} vs {env.gpu_name!r} here")
    for what, have, here in (("SMs", record.sm_count, env.sm_count), ("GiB", record.memory_gib, env.memory_gib)):
        if here and have != here:
            out.append(f"{have or 'unrecorded'} {what} vs {here} here" if have else
                       f"{what} not recorded (engine built before edgevsr keyed engines by SMs and memory)")
    return out


def check_compatible(record: EngineRecord, env: RuntimeEnv, engine: str | Path) -> None:
    """Raise before TensorRT deserializes an engine built for another GPU or TensorRT version."""
    diff = mismatches(record, env)
    if diff:
        raise EdgeVSRError(f"{engine}: engine was built for another machine ({'; '.join(diff)}); "
                           f"rebuild it here with: {record.rebuild or 'edgevsr build MODEL.onnx -o ' + str(engine)}")
