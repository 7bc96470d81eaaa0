"""Build a runner for (model, weights, backend, device, precision): the one place the CLI gets runners from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec


@dataclass
class RunnerConfig:
    model: str = "egvsr"
    weights: str | None = None
    backend: str = "torch"
    device: str = "cpu"
    precision: str = "fp32"
    onnx: Path | None = None  # an exported/quantized ONNX file (onnxruntime) or engine (tensorrt)
    allow_random: bool = False
    cuda_graph: bool = False  # tensorrt: capture each enqueue in a CUDA graph
    layer_timing: bool = False  # tensorrt: per-layer times (IProfiler)
    compile: bool = False  # torch: torch.compile (with CUDA graphs on GPU)


DEVICES = ("cpu", "cuda")


def check_device(device: str) -> None:
    """``cpu``, ``cuda`` or ``cuda:N``; anything else is one line, before torch sees it."""
    base, _, index = device.partition(":")
    if base not in DEVICES or (index and not index.isdigit()) or (base == "cpu" and index):
        raise EdgeVSRError(f"--device {device!r}: choose cpu or cuda (cuda:N for the N-th GPU)")


def make_runner(cfg: RunnerConfig) -> tuple[Runner, str]:
    """Returns the runner and a one-line description of the weights it runs."""
    check_device(cfg.device)
    if cfg.precision == "fp16" and cfg.device == "cpu" and cfg.backend == "torch":
        import warnings

        warnings.warn("--fp16 on the CPU is emulated by PyTorch (~50x slower than FP32); use it on a GPU",
                      stacklevel=2)
    if cfg.backend == "torch":
        from edgevsr.backends.torch_runner import TorchRunner
        from edgevsr.weights import load_model

        model, source = load_model(cfg.model, cfg.weights, allow_random=cfg.allow_random)
        runner = TorchRunner(model, ModelSpec.of(model, cfg.model), cfg.device, cfg.precision, compile=cfg.compile)
        return runner, source
    if cfg.backend == "onnxruntime":
        from edgevsr.backends.onnxruntime_runner import OnnxRuntimeRunner

        if cfg.onnx is None:
            raise EdgeVSRError("--backend onnxruntime needs --onnx FILE (make one with `edgevsr quantize`)")
        runner = OnnxRuntimeRunner(cfg.onnx, cfg.device)
        return runner, f"{cfg.onnx} ({runner.spec.name})"
    if cfg.backend == "tensorrt":
        from edgevsr.backends.tensorrt_runner import TensorRTRunner, require_tensorrt

        require_tensorrt()  # names the extra to install and the backends available instead
        if cfg.onnx is None or Path(cfg.onnx).suffix.lower() == ".onnx":
            raise EdgeVSRError(f"--backend tensorrt needs an engine: build one with `edgevsr build "
                               f"{cfg.onnx or 'MODEL.onnx'} -o MODEL.engine` and pass it with --onnx MODEL.engine")
        device = cfg.device if cfg.device.startswith("cuda") else "cuda"
        runner = TensorRTRunner(cfg.onnx, device, cuda_graph=cfg.cuda_graph, layer_timing=cfg.layer_timing)
        return runner, f"{cfg.onnx} ({runner.spec.name}, built {runner.record.built_at})"
    raise EdgeVSRError(f"unknown or unavailable backend {cfg.backend!r}; choose torch, onnxruntime or tensorrt")
