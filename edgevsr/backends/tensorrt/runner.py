"""TensorRT runner: a serialized engine on one CUDA stream, state and conversions on the device.

Device buffers are PyTorch CUDA tensors (their ``data_ptr()`` goes to
``IExecutionContext.set_tensor_address``), so uint8 <-> float conversion,
padding and the recurrent state (``lr_prev``, ``hr_prev``) never leave the GPU;
only the uint8 LR frame goes up and the uint8 HR frame comes down, through
pinned host buffers. Outputs alternate between two buffers, because one
step's output is the next step's ``hr_prev`` input: without CUDA graphs a
returned output stays valid until the second next ``infer``. Optional CUDA-graph
capture replays the whole enqueue into one captured output buffer (inputs are
copied into the captured buffers first), so there an output is valid only until
the next ``infer``; :class:`edgevsr.stream.FrameUpscaler` hands it back as the
next input before that. A graph bakes in the context's shapes, so one graph is
kept, for the current input shape; a new shape drops it and captures again.

Written against the TensorRT 8.5+ / 10 / 11 Python API (``num_io_tensors``,
``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError

from .engine_record import EngineRecord, RuntimeEnv, ShapeProfile, check_compatible, read_record

INSTALL_HINT = ("pip install 'edgevsr[tensorrt]' on a desktop with an NVIDIA GPU and a CUDA 12 torch "
                "('edgevsr[tensorrt-cu13]' for a CUDA 13 torch); on Jetson use JetPack's python3-libnvinfer")


def available_backends() -> list[str]:
    """Backends that can run here (torch always; onnxruntime and tensorrt when importable)."""
    import importlib.util

    out = ["torch"]
    if importlib.util.find_spec("onnxruntime") is not None:
        out.append("onnxruntime")
    if importlib.util.find_spec("tensorrt") is not None:
        out.append("tensorrt")
    return out


def require_tensorrt(purpose: str = "the tensorrt backend"):
    """The ``tensorrt`` module, or a one-line error naming the extra and the backends available instead."""
    try:
        import tensorrt
    except ImportError as exc:
        raise EdgeVSRError(f"{purpose} needs TensorRT, which is not installed here ({exc}); install it with: "
                           f"{INSTALL_HINT}. Available backends here: {', '.join(available_backends())}") from None
    return tensorrt


def require_cuda(purpose: str = "the tensorrt backend"):
    """PyTorch with a visible CUDA device (it owns our device buffers and streams)."""
    import torch

    if not torch.cuda.is_available():
        why = "this PyTorch build has no CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise EdgeVSRError(f"{purpose} needs a CUDA GPU ({why}); available backends here: "
                           f"{', '.join(b for b in available_backends() if b != 'tensorrt')}")
    return torch


def current_env(device: str = "cuda") -> RuntimeEnv:
    """TensorRT version and the GPU of ``device`` (what engines are keyed and checked by)."""
    trt = require_tensorrt()
    torch = require_cuda()
    index = torch.device(device).index or 0
    from edgevsr.jetson import jetson_model

    p = torch.cuda.get_device_properties(index)
    # the module name on Jetson (every Orin GPU calls itself "Orin"); SMs and memory tell modules apart too
    return RuntimeEnv(trt.__version__, jetson_model() or p.name, f"{p.major}.{p.minor}", int(p.multi_processor_count),
                      round(p.total_memory / 2**30))


def torch_dtype(trt, dtype):
    """TensorRT DataType -> torch dtype (only the types engines here use)."""
    import torch

    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
             "int8": torch.int8, "uint8": torch.uint8, "int32": torch.int32, "int64": torch.int64,
             "bool": torch.bool}
    for name, tdt in table.items():
        if hasattr(trt, name) and dtype == getattr(trt, name):
            return tdt
    raise EdgeVSRError(f"engine tensor type {dtype} is not supported by edgevsr's TensorRT runner")


def make_logger(trt, echo_level: str = "WARNING"):
    """A TensorRT logger that keeps every message (errors are shown to the user) and echoes warnings+."""
    import sys

    class CapturingLogger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages: list[tuple[int, str]] = []
            self.echo = int(getattr(trt.ILogger.Severity, echo_level))

        def log(self, severity, msg):
            self.messages.append((int(severity), msg))
            if int(severity) <= self.echo:
                print(f"[TensorRT] {msg}", file=sys.stderr)

        def errors(self) -> list[str]:
            limit = int(trt.ILogger.Severity.ERROR)
            return [m for s, m in self.messages if s <= limit]

    return CapturingLogger()


def make_layer_profiler(trt):
    """An IProfiler summing per-layer times (ms) over the inferences run while it is attached."""

    class LayerTimes(trt.IProfiler):
        def __init__(self):
            trt.IProfiler.__init__(self)
            self.reset()

        def reset(self) -> None:
            self.total_ms: dict[str, float] = defaultdict(float)
            self.calls: dict[str, int] = defaultdict(int)

        def report_layer_time(self, layer_name, ms):
            self.total_ms[layer_name] += ms
            self.calls[layer_name] += 1

        def summary(self) -> list[dict]:
            rows = [{"layer": k, "mean_ms": v / max(1, self.calls[k]), "calls": self.calls[k]}
                    for k, v in self.total_ms.items()]
            return sorted(rows, key=lambda r: -r["mean_ms"])

    return LayerTimes()


class TensorRTRunner(Runner):
    name = "tensorrt"

    def __init__(self, engine: str | Path, device: str = "cuda", cuda_graph: bool = False,
                 layer_timing: bool = False):
        self.path = Path(engine)
        record: EngineRecord = read_record(self.path)  # before touching TensorRT: clear error if foreign
        self.trt = require_tensorrt()
        self.torch = require_cuda()
        if not str(device).startswith("cuda"):
            raise EdgeVSRError(f"--device {device}: the tensorrt backend runs on cuda only")
        self.device = self.torch.device(device)
        if self.device.index is None:  # set_device / streams want an explicit index
            self.device = self.torch.device("cuda", self.torch.cuda.current_device())
        check_compatible(record, current_env(str(self.device)), self.path)
        super().__init__(record.model_spec, record.precision)
        self.record = record
        self.shape_profile: ShapeProfile = record.shape_profile
        if cuda_graph and layer_timing:
            raise EdgeVSRError("--layers (IProfiler) cannot time a CUDA graph replay; drop --cuda-graph")
        self.cuda_graph, self.layer_timing = cuda_graph, layer_timing
        self.layer_profiler = None
        self.gpu_time = 0.0  # seconds of the last enqueue, by CUDA events

    # life cycle -----------------------------------------------------------------------------------
    def activate_impl(self) -> None:
        trt, torch = self.trt, self.torch
        self.logger = make_logger(trt)
        torch.cuda.set_device(self.device)
        self.runtime = trt.Runtime(self.logger)
        dla_core = (self.record.flags or {}).get("dla_core")
        if dla_core is not None:  # IRuntime.DLA_core defaults to -1: a DLA engine must be told its core first
            self.runtime.DLA_core = int(dla_core)
        self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            errs = "; ".join(self.logger.errors()[-2:]) or "no message"
            raise EdgeVSRError(f"{self.path}: TensorRT could not deserialize the engine ({errs}); "
                               f"rebuild with: {self.record.rebuild}")
        self.context = self.engine.create_execution_context()
        if self.context is None:  # e.g. not enough device memory for the activations of the profile's max shape
            errs = "; ".join(self.logger.errors()[-2:]) or "no message"
            raise EdgeVSRError(f"{self.path}: TensorRT could not create an execution context ({errs}); the engine's "
                               f"profile {self.shape_profile.describe()} may need more GPU memory than is free: "
                               "rebuild with a smaller --max")
        self.stream = torch.cuda.Stream(self.device)
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = [n for n in names if is_input[n]]
        self.output_names = [n for n in names if not is_input[n]]
        if list(self.input_names) != list(self.spec.input_names):
            raise EdgeVSRError(f"{self.path}: engine inputs {self.input_names} differ from its sidecar's "
                               f"{list(self.spec.input_names)}; rebuild it")
        self.dtypes = {n: torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}
        self.out_name = self.spec.output_names[0]
        self._outs: dict[tuple, list] = {}
        self._flip = 0
        self._graphs: dict[tuple, tuple] = {}
        self._pinned: dict[tuple, Any] = {}
        self._h2d_done = torch.cuda.Event()
        self._ev = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
        self._timed = False
        memory = getattr(self.engine, "device_memory_size_v2", None)  # TensorRT 10.x+; the older name went in 11
        self.device_memory = int(memory if memory is not None else getattr(self.engine, "device_memory_size", 0))
        if self.layer_timing:
            self.layer_profiler = make_layer_profiler(trt)
            self.context.profiler = self.layer_profiler

    def deactivate_impl(self) -> None:
        self.stream.synchronize()
        self._graphs.clear()
        self._outs.clear()
        self._pinned.clear()
        self.context = self.engine = self.runtime = None

    def synchronize(self) -> None:
        self.stream.synchronize()
        if self._timed:
            self.gpu_time = self._ev[0].elapsed_time(self._ev[1]) / 1000.0

    # inference ------------------------------------------------------------------------------------
    def infer_impl(self, *inputs: Any) -> Any:
        torch = self.torch
        _, _, h, w = inputs[0].shape
        self.shape_profile.check(int(w), int(h), self.path)
        with torch.cuda.stream(self.stream):
            ins = [self._device_input(n, x) for n, x in zip(self.input_names, inputs)]
            self._ev[0].record(self.stream)
            out = self._replay(ins) if self.cuda_graph else self._enqueue(ins)
            self._ev[1].record(self.stream)
        self._timed = True
        return out

    def _device_input(self, name: str, x: Any):
        torch = self.torch
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        return x.to(self.device, self.dtypes[name], non_blocking=True).contiguous()

    def _bind(self, ins: list, out) -> None:
        for name, x in zip(self.input_names, ins):
            if not self.context.set_input_shape(name, tuple(x.shape)):
                raise EdgeVSRError(f"{self.path}: TensorRT rejected input {name} {tuple(x.shape)} "
                                   f"(profile {self.shape_profile.describe()})")
            self.context.set_tensor_address(name, x.data_ptr())
        self.context.set_tensor_address(self.out_name, out.data_ptr())
        for extra in self.output_names:  # every output needs an address, even ones we do not use
            if extra != self.out_name:
                buf = self._buffers(extra, tuple(self.context.get_tensor_shape(extra)))[0]
                self.context.set_tensor_address(extra, buf.data_ptr())

    def _buffers(self, name: str, shape: tuple) -> list:
        key = (name, shape)
        if key not in self._outs:
            self._outs[key] = [self.torch.empty(shape, dtype=self.dtypes[name], device=self.device)
                               for _ in range(2)]
        return self._outs[key]

    def _output_shape(self, ins: list) -> tuple:
        for name, x in zip(self.input_names, ins):
            self.context.set_input_shape(name, tuple(x.shape))
        return tuple(self.context.get_tensor_shape(self.out_name))

    def _enqueue(self, ins: list):
        pair = self._buffers(self.out_name, self._output_shape(ins))
        self._flip ^= 1
        out = pair[self._flip]  # never the buffer an input (hr_prev) may still point at
        self._bind(ins, out)
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise EdgeVSRError(f"{self.path}: TensorRT enqueue failed: {'; '.join(self.logger.errors()[-2:])}")
        return out

    def _replay(self, ins: list):
        torch = self.torch
        key = tuple(tuple(x.shape) for x in ins)
        if key not in self._graphs:
            self._graphs.clear()  # the context is reshaped below: an older graph would replay stale shapes
            static_in = [x.clone() for x in ins]
            out = torch.empty(self._output_shape(ins), dtype=self.dtypes[self.out_name], device=self.device)
            self._bind(static_in, out)
            if not self.context.execute_async_v3(self.stream.cuda_stream):  # settles shape-dependent state first
                raise EdgeVSRError(f"{self.path}: TensorRT enqueue failed: {'; '.join(self.logger.errors()[-2:])}")
            self.stream.synchronize()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self.stream, capture_error_mode="thread_local"):
                ok = self.context.execute_async_v3(self.stream.cuda_stream)
            if not ok:
                raise EdgeVSRError(f"{self.path}: TensorRT enqueue failed during CUDA-graph capture: "
                                   f"{'; '.join(self.logger.errors()[-2:]) or 'no message'}; run without --cuda-graph")
            self._graphs[key] = (graph, static_in, out)
        graph, static_in, out = self._graphs[key]
        for dst, src in zip(static_in, ins):
            if dst.data_ptr() != src.data_ptr():
                dst.copy_(src, non_blocking=True)
        graph.replay()
        return out

    # native conversions on the device ----------------------------------------------------------------
    def _pinned_buffer(self, shape: tuple, dtype):
        key = (shape, dtype)
        if key not in self._pinned:
            self._pinned[key] = self.torch.empty(shape, dtype=dtype, pin_memory=True)
        return self._pinned[key]

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int):
        from edgevsr.backends.torch.runner import frame_to_tensor

        torch = self.torch
        host = self._pinned_buffer(frame.shape, torch.uint8)
        self._h2d_done.synchronize()  # the previous upload from this buffer has finished
        host.numpy()[...] = frame
        with torch.cuda.stream(self.stream):
            dev = host.to(self.device, non_blocking=True)
            self._h2d_done.record(self.stream)
            return frame_to_tensor(dev, pad_h, pad_w, self.dtypes[self.input_names[0]]).contiguous()

    def concat(self, tensors: list[Any]):
        with self.torch.cuda.stream(self.stream):
            return self.torch.cat(tensors, dim=1)

    def zeros_like_hr(self, lr: Any):
        _, c, h, w = lr.shape
        s = self.spec.scale
        with self.torch.cuda.stream(self.stream):
            return self.torch.zeros(1, c, h * s, w * s, device=self.device, dtype=self.dtypes[self.input_names[-1]])

    def finish(self, out: Any, height: int, width: int) -> np.ndarray:
        from edgevsr.backends.torch.runner import tensor_to_frame

        torch = self.torch
        with torch.cuda.stream(self.stream):
            y = tensor_to_frame(out, height, width).contiguous()
            host = self._pinned_buffer(tuple(y.shape), torch.uint8)
            host.copy_(y, non_blocking=True)
        self.stream.synchronize()
        return host.numpy().copy()

    def describe(self) -> str:
        return (f"tensorrt {self.record.trt_version} {self.precision} ({self.record.path}) on {self.record.gpu_name}"
                f"{' +cuda-graph' if self.cuda_graph else ''}")
