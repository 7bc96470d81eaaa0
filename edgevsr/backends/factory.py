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
    cuda_graph: bool = False  # tensorrt / torch on CUDA: replay each step as a captured CUDA graph
    layer_timing: bool = False  # tensorrt: per-layer times (IProfiler)
    compile: bool = False  # torch: torch.compile (with CUDA graphs on GPU)
    channels_last: bool = False  # torch: NHWC memory format (tensor-core friendly on GPU)


def make_runner(cfg: RunnerConfig) -> tuple[Runner, str]:
    """Returns the runner and a one-line description of the weights it runs."""
    if cfg.backend == "torch":
        from edgevsr.backends.torch_runner import TorchRunner
        from edgevsr.weights import load_model

        model, source = load_model(cfg.model, cfg.weights, allow_random=cfg.allow_random)
        runner = TorchRunner(model, ModelSpec.of(model, cfg.model), cfg.device, cfg.precision,
                             channels_last=cfg.channels_last, compile=cfg.compile, cuda_graph=cfg.cuda_graph)
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
