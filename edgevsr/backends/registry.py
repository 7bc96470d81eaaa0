"""Build a runner from a :class:`RunnerConfig`: the one place the CLI, the report and the API get runners from.

A :class:`RunnerConfig` is a small common part (model, weights, device, precision, allow_random) plus one
options object of the backend it runs: :class:`TorchOptions`, :class:`OnnxRuntimeOptions`,
:class:`TensorRTOptions` or :class:`OpenCVOptions`; the backend is the options' kind. :func:`runner_config`
turns the flat flags of the command line and the Python API into one, in one place: it picks the backend an
``--onnx`` / ``--engine`` file needs and refuses, in one line, a flag the backend would not read.

Each backend is a folder ``edgevsr/backends/<name>/`` whose ``loader.load(cfg)`` obtains the thing it runs
(weights, an ONNX Runtime session, a TensorRT engine) and returns its runner. A loader module is imported
only when its backend is asked for, so torch, onnxruntime and TensorRT stay optional for each other.
"""

from __future__ import annotations

import importlib
import numbers
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from edgevsr.errors import EdgeVSRError

if TYPE_CHECKING:  # the CLI's option definitions read LOADERS: importing this module stays light (no torch)
    from edgevsr.backends.base import Runner

DEFAULT_MODEL = "egvsr"  # what the torch backend runs when no model is named

LOADERS = {  # backend name -> module with ``load(cfg) -> (runner, source)``
    "torch": "edgevsr.backends.torch.loader",
    "onnxruntime": "edgevsr.backends.onnxruntime.loader",
    "tensorrt": "edgevsr.backends.tensorrt.loader",
    "opencv": "edgevsr.backends.opencv.loader",
}

# an options field -> the command-line flag that sets it (what a refusal names)
FLAGS = {"compile": "--compile", "channels_last": "--channels-last", "cuda_graph": "--cuda-graph",
         "threads": "--threads", "model_file": "--onnx", "engine": "--engine", "layer_timing": "--layers",
         "weights": "--weights", "allow_random": "--allow-random"}
# common fields only the torch backend reads (the others run the weights inside their file, or none)
TORCH_COMMON = {"weights", "allow_random"}


def _check_threads(threads: int | None) -> int | None:
    """None, or a plain int >= 1 (numpy integers accepted); anything else is one line."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise EdgeVSRError(f"--threads {threads!r}: expected an integer >= 1, not {type(threads).__name__}")
    if threads < 1:
        raise EdgeVSRError(f"--threads {threads}: must be >= 1")
    return int(threads)


@dataclass(frozen=True)
class TorchOptions:
    """torch: the fast paths of :class:`~edgevsr.backends.torch.runner.TorchRunner`."""

    backend: ClassVar[str] = "torch"
    compile: bool = False  # torch.compile (with CUDA graphs on GPU)
    channels_last: bool = False  # NHWC memory format (tensor-core friendly on GPU)
    cuda_graph: bool = False  # on CUDA: replay each step as a captured CUDA graph
    threads: int | None = None  # torch.set_num_threads (process-wide; None: leave torch's setting)

    def __post_init__(self) -> None:
        object.__setattr__(self, "threads", _check_threads(self.threads))


@dataclass(frozen=True)
class OnnxRuntimeOptions:
    """onnxruntime: the exported / quantized ONNX file and the session's intra-op threads."""

    backend: ClassVar[str] = "onnxruntime"
    model_file: Path | None = None  # an edgevsr ONNX export (`edgevsr quantize`)
    threads: int | None = None  # intra-op threads of the session (None: ONNX Runtime chooses)

    def __post_init__(self) -> None:
        if self.model_file is None:
            raise EdgeVSRError("--backend onnxruntime needs --onnx FILE (make one with `edgevsr quantize`)")
        object.__setattr__(self, "model_file", Path(self.model_file))
        object.__setattr__(self, "threads", _check_threads(self.threads))


@dataclass(frozen=True)
class TensorRTOptions:
    """tensorrt: the engine built by `edgevsr build` (`edgevsr profile` also takes an .onnx: it builds one)."""

    backend: ClassVar[str] = "tensorrt"
    engine: Path | None = None
    cuda_graph: bool = False  # replay each step as a captured CUDA graph
    layer_timing: bool = False  # per-layer times (TensorRT's IProfiler)

    def __post_init__(self) -> None:
        if self.engine is None:
            raise EdgeVSRError("--backend tensorrt needs an engine: build one with `edgevsr build MODEL.onnx -o "
                               "MODEL.engine` and pass it with --onnx MODEL.engine")
        object.__setattr__(self, "engine", Path(self.engine))


@dataclass(frozen=True)
class OpenCVOptions:
    """opencv: cv2.resize bicubic has nothing to set."""

    backend: ClassVar[str] = "opencv"


BackendOptions = TorchOptions | OnnxRuntimeOptions | TensorRTOptions | OpenCVOptions
OPTIONS = {o.backend: o for o in (TorchOptions, OnnxRuntimeOptions, TensorRTOptions, OpenCVOptions)}
assert set(OPTIONS) == set(LOADERS)
DEVICES = ("cpu", "cuda")


def check_device(device: str) -> None:
    """``cpu``, ``cuda`` or ``cuda:N``; anything else is one line, before torch sees it."""
    base, _, index = device.partition(":")
    if base not in DEVICES or (index and not index.isdigit()) or (base == "cpu" and index):
        raise EdgeVSRError(f"--device {device!r}: choose cpu or cuda (cuda:N for the N-th GPU)")


@dataclass(frozen=True)
class RunnerConfig:
    """What to run: the common part, and the options of its backend (``options.backend`` names it)."""

    model: str | None = None  # None: DEFAULT_MODEL (torch), or whatever the ONNX / engine holds
    weights: str | None = None  # torch: a .safetensors/.pth path or a shipped name (None: the shipped ones)
    device: str = "cpu"
    precision: str | None = None  # None: fp32 (torch), or what the ONNX / engine carries
    allow_random: bool = False  # torch: an untrained network where no weights are shipped
    options: BackendOptions = field(default_factory=TorchOptions)

    def __post_init__(self) -> None:
        check_device(self.device)
        if not isinstance(self.options, tuple(OPTIONS.values())):
            kinds = ", ".join(o.__name__ for o in OPTIONS.values())
            raise EdgeVSRError(f"RunnerConfig.options: expected one of {kinds}, not {type(self.options).__name__}")

    @property
    def backend(self) -> str:
        return self.options.backend

    @property
    def file(self) -> Path | None:
        """The file the backend runs: the ONNX export (onnxruntime) or the engine (tensorrt); None otherwise."""
        return getattr(self.options, "model_file", None) or getattr(self.options, "engine", None)

    @property
    def threads(self) -> int | None:
        """The CPU threads asked for (torch, onnxruntime); None where not given or not read."""
        return getattr(self.options, "threads", None)

    def with_options(self, **changes) -> RunnerConfig:
        """A copy with some of the backend's options changed (``cfg.with_options(threads=2)``)."""
        return replace(self, options=replace(self.options, **changes))

    def to_dict(self) -> dict:
        """Flat and JSON-ready: the common part, ``backend`` and the backend's options (paths as strings)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"}
        out["backend"] = self.backend
        out.update({f.name: getattr(self.options, f.name) for f in fields(self.options)})
        return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


ONNX_SUFFIXES = {".onnx": "onnxruntime", ".engine": "tensorrt", ".plan": "tensorrt", ".trt": "tensorrt"}
# the flat arguments of runner_config (and of the API functions that build a runner): their defaults
RUNNER_ARGS = {"model": None, "weights": None, "backend": "torch", "device": "cpu", "precision": None,
               "allow_random": False, "onnx": None, "engine": None, "threads": None, "compile": False,
               "channels_last": False, "cuda_graph": False, "layer_timing": False}
_STRINGS = ("model", "backend", "device", "precision")
_PATHS = ("weights", "onnx", "engine")
_SWITCHES = ("allow_random", "compile", "channels_last", "cuda_graph", "layer_timing")


def _check_types(given: dict) -> None:
    """One line naming the flag for a value of the wrong type (the API takes anything; torch or a dataclass
    would otherwise fail with a TypeError deep inside)."""
    def flag(name: str) -> str:
        return FLAGS.get(name, "--" + name.replace("_", "-"))

    for name in _STRINGS:
        value = given[name]
        if value is not None and not isinstance(value, str):
            raise EdgeVSRError(f"{flag(name)} {value!r}: expected a string, not {type(value).__name__}")
    for name in _PATHS:
        value = given[name]
        if value is not None and not isinstance(value, str | Path):
            raise EdgeVSRError(f"{flag(name)} {value!r}: expected a path, not {type(value).__name__}")
    for name in _SWITCHES:
        if not isinstance(given[name], bool):
            raise EdgeVSRError(f"{flag(name)} {given[name]!r}: expected True or False, not "
                               f"{type(given[name]).__name__}")
    _check_threads(given["threads"])


def refuse_beside_runner(**given) -> None:
    """A runner handed over (API ``runner=``) is what runs: any runner argument given beside it would be
    ignored, so it is refused in one line (arguments left at their defaults are not "given")."""
    extra = [f"{name}={value if isinstance(value, bool | int) else str(value)!r}" for name, value in given.items()
             if value != RUNNER_ARGS[name]]
    if extra:
        raise EdgeVSRError(f"runner= and {', '.join(extra)}: the runner given is what runs, built with its own "
                           "options; drop these or the runner")


def runner_config(*, model: str | None = None, weights: str | Path | None = None, backend: str = "torch",
                  device: str = "cpu", precision: str | None = None, allow_random: bool = False,
                  onnx: str | Path | None = None, engine: str | Path | None = None, threads: int | None = None,
                  compile: bool = False, channels_last: bool = False, cuda_graph: bool = False,
                  layer_timing: bool = False) -> RunnerConfig:
    """The one place flat flags become a :class:`RunnerConfig` (every command and the Python API call it).

    ``onnx`` is an ONNX export (onnxruntime) or, as before ``--engine``, an engine (tensorrt); with the default
    torch backend a file picks the backend it needs (torch cannot run it, and running the shipped weights
    instead would silently ignore it). A flag the chosen backend does not read, or a value of the wrong type,
    is refused in one line."""
    _check_types(locals())
    if backend not in OPTIONS:
        raise EdgeVSRError(f"unknown backend {backend!r}; choose {', '.join(LOADERS)}")
    if onnx is not None and engine is not None:
        raise EdgeVSRError(f"--onnx {onnx} and --engine {engine}: a runner runs one file; give one")
    file = Path(onnx) if onnx is not None else Path(engine) if engine is not None else None
    if engine is not None and backend == "torch":
        backend = "tensorrt"  # --engine is tensorrt's, whatever the file is called (profile builds from .onnx)
    if file is not None and backend == "torch":
        backend = ONNX_SUFFIXES.get(file.suffix.lower())
        if backend is None:
            raise EdgeVSRError(f"--onnx {file}: expected an .onnx file (onnxruntime) or a TensorRT .engine/.plan; "
                               "name the backend with --backend")
    if engine is not None and backend != "tensorrt":
        raise EdgeVSRError(f"--engine {engine}: is a tensorrt option; --backend {backend} runs an --onnx file")
    given = {"weights": weights, "allow_random": allow_random or None, "threads": threads,
             "compile": compile or None, "channels_last": channels_last or None, "cuda_graph": cuda_graph or None,
             "layer_timing": layer_timing or None}
    if backend == "onnxruntime":
        given["model_file"] = file
    elif backend == "tensorrt":
        given["engine"] = file
    elif file is not None:
        raise EdgeVSRError(f"--onnx {file}: --backend {backend} runs no file; drop it, or choose onnxruntime "
                           "or tensorrt")
    check_device(device)
    if backend == "opencv" and device != "cpu":  # as onnxruntime / tensorrt refuse a device they cannot use
        raise EdgeVSRError(f"--device {device}: the opencv backend runs cv2.resize on the CPU; drop --device or "
                           "choose torch or onnxruntime for the GPU")
    kind = OPTIONS[backend]

    def reads(b: str) -> set[str]:
        return {f.name for f in fields(OPTIONS[b])} | (TORCH_COMMON if b == "torch" else set())

    refused = [FLAGS[name] for name, value in given.items() if value is not None and name not in reads(backend)]
    if refused:
        readers = {flag: [b for b in OPTIONS if name in reads(b)] for name, flag in FLAGS.items()}
        first = refused[0]
        raise EdgeVSRError(f"{' '.join(refused)}: the {backend} backend does not read it ({first} is for "
                           f"{' / '.join(readers[first])}); drop it or choose that backend")
    accepted = {f.name for f in fields(kind)}
    options = kind(**{k: v for k, v in given.items() if k in accepted and v is not None})
    return RunnerConfig(model=model, weights=str(weights) if weights is not None else None, device=device,
                        precision=precision, allow_random=allow_random, options=options)


def make_runner(cfg: RunnerConfig) -> tuple[Runner, str]:
    """Returns the runner and a one-line description of the weights it runs."""
    if cfg.precision == "fp16" and cfg.device == "cpu" and cfg.backend == "torch":
        import warnings

        warnings.warn("--fp16 on the CPU is emulated by PyTorch (~50x slower than FP32); use it on a GPU",
                      stacklevel=2)
    return importlib.import_module(LOADERS[cfg.backend]).load(cfg)


def same_precision(asked: str, carried: str) -> bool:
    """A "mixed" file is INT8 with some layers kept in float: asking for int8 matches it."""
    return asked == carried or (asked == "int8" and carried == "mixed")


def check_request(cfg: RunnerConfig, model: str, precision: str, source: str | Path) -> None:
    """Refuse a ``cfg.model`` / ``cfg.precision`` that contradicts what ``source`` (ONNX, engine) holds.

    Runs would otherwise be labelled with the asked-for model or precision while running another."""
    if cfg.model is not None and cfg.model != model:
        raise EdgeVSRError(f"{source}: holds model {model!r}, not --model {cfg.model!r}; drop --model or pass "
                           f"an export of {cfg.model}")
    if cfg.precision is not None and not same_precision(cfg.precision, precision):
        raise EdgeVSRError(f"{source}: is a {precision} model, not --precision {cfg.precision}; drop the precision "
                           f"option or pass a {cfg.precision} export")
