"""BatchNorm folding at export: which zoo models have BatchNorm, and ONNX node counts and ONNX Runtime speed of a
BatchNorm-bearing SR network exported with and without folding, timed side by side in one process.

    python benchmarks/bench_bn_fusion.py [--size 64x48] [--runs 7] [--threads 1]

The zoo (SOF-VSR, VESPCN, ESPCN as published, EGVSR / FRVSR, bicubic) is checked for BatchNorm modules: a model
without any exports the same graph either way. The measured subject is SRResNet (Ledig et al., the SRGAN
generator: Conv -> BatchNorm -> PReLU residual blocks), 64 channels, 8 blocks, x4 by two PixelShuffle(2) stages,
random weights and BatchNorm statistics (cost does not depend on values). Three graphs: folded by edgevsr
before export (what ``to_onnx`` does), not folded (``fuse_bn=False``; torch's exporter then runs its own graph
optimiser), and not folded with the exporter's optimiser off (``optimize=False``: the BatchNormalization nodes as
traced). ONNX Runtime is timed with its default graph optimisations and with them off (a runtime that does not
fold BatchNorm itself); PyTorch eager (the torch backend) is timed with and without folding. Prints a table,
writes benchmarks/results/bn_fusion.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgevsr.models import ARCHITECTURES, build_model
from edgevsr.models.base import VSRModel

RESULTS = Path(__file__).parent / "results"


class SRResNet(VSRModel):
    """SRGAN's generator: conv 9x9, residual blocks (conv-BN-PReLU-conv-BN), conv-BN skip, 2 x (conv, shuffle 2)."""

    kind = "single"
    size_multiple = 1
    input_names = ("lr",)
    picture_inputs = ("lr",)
    output_names = ("hr",)

    def __init__(self, channels: int = 64, blocks: int = 8):
        super().__init__()
        c = channels
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU(c))
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                                  nn.PReLU(c), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                                  nn.BatchNorm2d(c)) for _ in range(blocks))
        self.trunk = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.up = nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c),
                                nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c),
                                nn.Conv2d(c, 3, 9, padding=4))
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):  # statistics as training leaves them, not the identity
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.1, 0.1)

    def core(self, lr):
        x = self.head(lr)
        y = x
        for b in self.blocks:
            y = y + b(y)
        return self.up(x + self.trunk(y))


GRAPHS = ("as traced", "unfused", "fused")


def raw_export(net: VSRModel, h: int, w: int):
    """torch's exporter with its own graph optimiser off (fixed LR shape): the BatchNormalization nodes as traced."""
    import contextlib
    import io
    import logging
    import warnings

    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        return torch.onnx.export(net, net.example_inputs(h, w), dynamo=True, optimize=False, opset_version=18,
                                 input_names=["lr"], output_names=["hr"]).model_proto


def time_torch(models: dict[str, nn.Module], x: torch.Tensor, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in models}
    with torch.no_grad():
        for m in models.values():
            m(x)
        for _ in range(runs):
            for k, m in models.items():
                t0 = time.perf_counter()
                m(x)
                times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def time_side_by_side(paths: dict[str, Path], x: np.ndarray, runs: int, threads: int, optimize: bool) -> dict:
    from edgevsr.backends.onnxruntime.loader import make_session

    sessions = {k: make_session(p, threads=threads, optimize=optimize) for k, p in paths.items()}
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for k, s in sessions.items():
        s.run(None, feeds[k])
    for _ in range(runs):  # alternate: both see the same machine load
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[k])
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="64x48", help="LR WIDTHxHEIGHT")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    import onnx

    from edgevsr.quantize.export import fold_batchnorm, to_onnx

    zoo = {name: batchnorms(build_model(name)) for name in ARCHITECTURES}
    torch.manual_seed(0)
    net = SRResNet().eval()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for label in GRAPHS:
            proto = raw_export(net, h, w) if label == "as traced" else to_onnx(net, (h, w), fuse_bn=label == "fused")
            paths[label] = Path(tmp) / f"{label}.onnx"
            onnx.save(proto, str(paths[label]))
            ops = [n.op_type for n in proto.graph.node]
            rows[label] = {"nodes": len(ops), "batchnorm_nodes": ops.count("BatchNormalization"),
                           "conv_nodes": ops.count("Conv")}
        x = np.random.default_rng(0).random((1, 3, h, w), np.float32)
        from edgevsr.backends.onnxruntime.loader import make_session

        outs = {k: make_session(p, threads=args.threads).run(None, {"lr": x})[0] for k, p in paths.items()}
        max_err = max(float(np.abs(o - outs["fused"]).max()) for o in outs.values())
        speed = {"ort_default": time_side_by_side(paths, x, args.runs, args.threads, True),
                 "ort_no_graph_opt": time_side_by_side(paths, x, args.runs, args.threads, False)}
    torch.set_num_threads(args.threads)
    eager = time_torch({"unfused": net, "fused": fold_batchnorm(net)}, torch.from_numpy(x), args.runs)
    print("BatchNorm modules in the zoo:", ", ".join(f"{k} {v}" for k, v in zoo.items()))
    print(f"\nSRResNet 64ch x 8 blocks ({batchnorms(net)} BatchNorm) at {w}x{h} LR, CPU, {args.threads} thread(s), "
          f"median of {args.runs} alternating runs")
    print(f"{'graph':12} {'nodes':>6} {'BN':>4} {'Conv':>5} {'ORT ms':>8} {'ORT no-opt ms':>14}")
    for k in GRAPHS:
        r = rows[k]
        print(f"{k:12} {r['nodes']:6d} {r['batchnorm_nodes']:4d} {r['conv_nodes']:5d} "
              f"{speed['ort_default'][k] * 1e3:8.1f} {speed['ort_no_graph_opt'][k] * 1e3:14.1f}")
    ratio = {m: {k: speed[m][k] / speed[m]["fused"] for k in GRAPHS} for m in speed}
    ratio["torch_eager"] = {"unfused": eager["unfused"] / eager["fused"], "fused": 1.0}
    print(f"as traced / fused: nodes {rows['as traced']['nodes'] / rows['fused']['nodes']:.2f}x, ORT "
          f"{ratio['ort_default']['as traced']:.2f}x, ORT no-opt {ratio['ort_no_graph_opt']['as traced']:.2f}x")
    print(f"PyTorch eager: unfused {eager['unfused'] * 1e3:.1f} ms, fused {eager['fused'] * 1e3:.1f} ms -> "
          f"{ratio['torch_eager']['unfused']:.2f}x")
    print(f"max |output - fused output| over the graphs: {max_err:.2e}")
    speed["torch_eager"] = eager
    RESULTS.mkdir(exist_ok=True)
    out = {"zoo_batchnorm_modules": zoo, "subject": "SRResNet 64ch 8 blocks, random weights and BN statistics",
           "size": f"{w}x{h}", "threads": args.threads, "runs": args.runs, "graphs": rows,
           "median_s": speed, "speedup_unfused_over_fused": ratio, "max_abs_output_diff": max_err,
           "env": {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                   "onnxruntime": __import__("onnxruntime").__version__}}
    (RESULTS / "bn_fusion.json").write_text(json.dumps(out, indent=2))
    print(f"wrote {RESULTS / 'bn_fusion.json'}")


if __name__ == "__main__":
    main()
