"""PyTorch runner: CPU or CUDA, FP32 or FP16, optional channels_last / torch.compile / CUDA graphs; state stays on
the device.

FP16 casts the weights and activations to half, but the warp grid, the sampling and
the flow scaling stay FP32 inside the model (:func:`edgevsr.models.ops.backward_warp`).
``cuda_graph`` captures one model step per input shape and replays it: inputs are
copied into the captured buffers first, and the output lives in the captured output
buffer, valid until the next ``infer`` (the streaming loop hands it back as the next
``hr_prev`` before that, which is copied in before the replay overwrites it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from edgevsr.backends.base import Runner
from edgevsr.errors import EdgeVSRError
from edgevsr.models.base import VSRModel
from edgevsr.models.spec import ModelSpec


def frame_to_tensor(frame: torch.Tensor, pad_h: int, pad_w: int, dtype: torch.dtype) -> torch.Tensor:
    """HxWx3 uint8 tensor (on any device) -> 1x3xHxW ``dtype`` in [0, 1], reflect-padded, on that device."""
    x = frame.permute(2, 0, 1)[None].to(dtype) / 255.0
    if pad_h or pad_w:
        mode = "reflect" if pad_h < x.shape[2] and pad_w < x.shape[3] else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x


def tensor_to_frame(out: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """1x3xHxW float -> HxWx3 uint8 (clipped, rounded, cropped), on the tensor's device; ``out`` is untouched."""
    y = out[0, :, :height, :width].float().clamp(0, 1).mul(255).add(0.5).to(torch.uint8)
    return y.permute(1, 2, 0)


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, model: VSRModel, spec: ModelSpec, device: str = "cpu", precision: str = "fp32",
                 channels_last: bool = False, compile: bool = False, cuda_graph: bool = False):
        super().__init__(spec, precision)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EdgeVSRError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu")
        if cuda_graph and not device.startswith("cuda"):
            raise EdgeVSRError("--cuda-graph needs --device cuda")
        if cuda_graph and compile:
            raise EdgeVSRError("--cuda-graph and --compile: on CUDA, --compile already replays CUDA graphs "
                               "(mode reduce-overhead); pass one of them")
        if precision not in ("fp32", "fp16"):
            raise EdgeVSRError(f"torch backend runs fp32 or fp16, not {precision!r} (INT8: onnxruntime/tensorrt)")
        self.device = torch.device(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.model = model.to(self.device, self.dtype).eval()
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.compiled = compile
        self.cuda_graph = cuda_graph
        self._graphs: dict[tuple, tuple] = {}
        self.step = self.model.core
        if compile:  # "reduce-overhead" = inductor kernels + CUDA graphs on GPU; first calls compile (slow)
            mode = "reduce-overhead" if self.device.type == "cuda" else "default"
            self.step = torch.compile(self.model.core, mode=mode, dynamic=False)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.inference_mode()
    def infer_impl(self, *inputs: Any) -> Any:
        ins = [self._native(x) for x in inputs]
        if self.cuda_graph:
            return self._replay(ins)
        out = self.step(*ins)
        # CUDA-graph outputs are overwritten by the next replay; the caller keeps this one as state.
        return out.clone() if self.compiled and self.device.type == "cuda" else out

    def _replay(self, ins: list[torch.Tensor]) -> torch.Tensor:
        key = tuple(tuple(x.shape) for x in ins)
        if key not in self._graphs:
            self._graphs.clear()  # one captured shape at a time (a new clip size recaptures)
            static_in = [x.clone() for x in ins]
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):  # warm-up on a side stream, as torch.cuda.graphs recommends
                for _ in range(2):
                    self.step(*static_in)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self.step(*static_in)
            self._graphs[key] = (graph, static_in, out)
        graph, static_in, out = self._graphs[key]
        for dst, src in zip(static_in, ins):
            if dst.data_ptr() != src.data_ptr():
                dst.copy_(src)
        graph.replay()
        return out

    def _native(self, x: Any) -> torch.Tensor:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)

    def prepare(self, frame: np.ndarray, pad_h: int, pad_w: int) -> torch.Tensor:
        x = frame_to_tensor(torch.from_numpy(frame).to(self.device), pad_h, pad_w, self.dtype)
        return x.contiguous(memory_format=self.memory_format)

    def concat(self, tensors: list[Any]) -> torch.Tensor:
        return torch.cat(tensors, dim=1)

    def zeros_like_hr(self, lr: Any) -> torch.Tensor:
        _, c, h, w = lr.shape
        s = self.spec.scale
        return torch.zeros(1, c, h * s, w * s, device=self.device, dtype=self.dtype)

    def finish(self, out: Any, height: int, width: int) -> np.ndarray:
        return tensor_to_frame(out, height, width).cpu().numpy()

    def describe(self) -> str:
        extras = [n for n, on in (("channels_last", self.memory_format == torch.channels_last),
                                  ("compiled", self.compiled), ("cuda-graph", self.cuda_graph)) if on]
        return f"torch {self.device.type} {self.precision}{''.join(' ' + e for e in extras)}"
