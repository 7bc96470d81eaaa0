"""`edgevsr build --check`: what TensorRT will do with each node of an ONNX, without TensorRT or a GPU.

Reads the graph and, per node, says which precisions TensorRT can give it
(from the graph's own types on the explicit path: Q/DQ-fed weighted layers INT8,
the rest as typed; from the builder flags on the implicit path), whether the DLA
can run it (TensorRT's "DLA Supported Layers and Restrictions"; anything else
falls back to the GPU), and which patterns the parser or builder rejects. The
verdict is :func:`edgevsr.deploy.trt_builder.plan_build`'s own: a refusal there is
a refusal here, in the same one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgevsr.errors import EdgeVSRError

# ONNX ops edgevsr graphs contain that onnx-tensorrt (docs/operators.md) parses, for TensorRT 8.5 .. 11.
PARSED_OPS = {
    "Add", "Cast", "Clip", "Concat", "Constant", "Conv", "ConvTranspose", "DepthToSpace", "DequantizeLinear",
    "Div", "Expand", "Gather", "Gemm", "GridSample", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad",
    "QuantizeLinear", "Range", "Reshape", "Resize", "Relu", "Shape", "Sigmoid", "Slice", "SpaceToDepth", "Split",
    "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "AveragePool", "Sqrt", "Pow", "ReduceMean", "Floor",
}
# Layers the DLA runs (FP16/INT8), as the ops that map to them; everything else runs on the GPU (GPU fallback).
DLA_OPS = {"Conv", "ConvTranspose", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "MaxPool", "AveragePool",
           "Add", "Sub", "Mul", "Concat"}
DLA_LOADABLES = 16  # "only 16 DLA loadables can be loaded concurrently per core" (DLA layer restrictions)
NOT_INT8 = {"GridSample", "Resize", "Tanh", "Sigmoid"}  # no INT8 kernels: float even in an INT8 build
DATA_MOVEMENT = {"Reshape", "Transpose", "DepthToSpace", "SpaceToDepth", "Squeeze", "Unsqueeze", "Concat",
                 "Gather", "Slice", "Split", "Shape", "Expand", "Identity", "Constant", "Cast", "Range"}


@dataclass
class NodeVerdict:
    name: str
    op: str
    precisions: str  # e.g. "int8", "fp32|fp16", "as typed"
    dla: str  # "yes" | "gpu (why)" | "-" (no DLA asked)
    problems: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    path: Path
    trt_version: str
    precision: str
    plan_summary: str = ""
    nodes: list[NodeVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    dla_subgraphs: int | None = None  # --dla: connected runs of DLA layers (each one DLA loadable)
    gpu_layers: int | None = None  # --dla: layers that fall back to the GPU

    @property
    def ok(self) -> bool:
        return self.refusal is None


def check_onnx(path: str | Path, trt_version: str = "10.3", dla: bool = False, precision: str | None = None,
               calibration_cache: Path | None = None) -> CheckReport:
    """Per-node verdicts and the build plan's verdict for ``path`` on TensorRT ``trt_version``."""
    import onnx

    from edgevsr.backends.tensorrt.engine_record import ShapeProfile
    from edgevsr.deploy.trt_plan import BuildOptions, inspect_onnx, parse_version, plan_build
    from edgevsr.quantize.export import fixed_lr_shape

    path = Path(path)
    facts = inspect_onnx(path)
    v = parse_version(trt_version)
    proto = onnx.load(str(path), load_external_data=False)
    report = CheckReport(path, trt_version, facts.precision)
    fixed = fixed_lr_shape(path)
    profile = None
    if dla:
        if fixed is None:
            report.notes.append("dynamic H/W export: the DLA needs one fixed size (export with --shape, or build "
                                "with equal --min/--opt/--max)")
        h, w = fixed or (272, 480)
        profile = ShapeProfile((w, h), (w, h), (w, h))
    opts = BuildOptions(precision=precision, calibration_cache=calibration_cache, dla_core=0 if dla else None)
    if profile is not None:
        opts.profile = profile
    try:
        plan = plan_build(trt_version, facts, opts)
        report.plan_summary = plan.summary()
        report.notes.extend(plan.notes)
        strongly_typed = "STRONGLY_TYPED" in plan.network_flags
        want = plan.precision
        pinned = set(plan.constrain_fp32)
    except EdgeVSRError as exc:
        report.refusal = str(exc)
        strongly_typed, want, pinned = v >= (10, 0), precision or facts.precision, set()
    shape_nodes = set(facts.shape_nodes)

    producer = {o: n for n in proto.graph.node for o in n.output}
    for n in proto.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear", "Constant"):
            continue
        problems = []
        if n.op_type not in PARSED_OPS:
            problems.append(f"{n.op_type} is not in edgevsr's table of onnx-tensorrt operators")
        if n.op_type == "GridSample" and v < (8, 5):
            problems.append("GridSample needs TensorRT 8.5+")
        if n.name in shape_nodes:  # INT64 shape arithmetic: as typed, never a float precision
            report.nodes.append(NodeVerdict(n.name, n.op_type, "int64/int32 (shape, as typed)",
                                            _dla_where(n.op_type, dla), problems))
            continue
        fed_by_dq = bool(n.input) and n.input[0] in producer and producer[n.input[0]].op_type == "DequantizeLinear"
        if facts.precision == "int8":
            if n.op_type in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
                prec = "int8" if fed_by_dq else "fp32 (no Q/DQ input)" if strongly_typed else "fp32|fp16"
            elif fed_by_dq and n.op_type not in NOT_INT8:
                prec = "int8|float (fused with its Q/DQ neighbours)"
            else:
                prec = "fp32" if strongly_typed else "fp32|fp16"
        elif facts.precision == "fp16":
            prec = "as typed (fp16 islands, fp32 elsewhere)" if strongly_typed else "fp32|fp16"
        else:
            prec = {"fp32": "fp32", "fp16": "fp32|fp16", "int8": "fp32|fp16|int8"}.get(want, want)
            if want == "int8" and n.op_type in NOT_INT8:
                prec = "fp32|fp16 (no INT8 kernel)"
            elif want == "int8" and n.name in facts.float_nodes:
                prec = "fp32 (pinned: kept in float by the quantizer)"
        if not strongly_typed and n.name in pinned:
            prec = "fp32 (pinned)"
        report.nodes.append(NodeVerdict(n.name, n.op_type, prec, _dla_where(n.op_type, dla), problems))
    if dla:
        on_dla = dla_layers(proto, report.nodes, pinned, strongly_typed)
        n_sub = dla_subgraphs(proto, on_dla)
        gpu = len(report.nodes) - len(on_dla)
        report.dla_subgraphs, report.gpu_layers = n_sub, gpu
        report.notes.append(
            f"DLA (estimated from the graph; the build's per-layer report decides): {len(on_dla)} layers in {n_sub} "
            f"DLA subgraphs, {gpu} layers on the GPU (GridSample, FP32-typed or pinned layers, casts, shape ops)"
            + (f"; over the {DLA_LOADABLES} loadables a DLA core holds: the subgraphs past it run on the GPU, and "
               "every subgraph boundary is a DLA<->GPU copy" if n_sub > DLA_LOADABLES else ""))
    unparsed = [f"{x.name}: {p}" for x in report.nodes for p in x.problems]
    if unparsed and report.refusal is None:
        report.refusal = f"{path}: TensorRT {trt_version} would reject {unparsed[0]} ({len(unparsed)} problems)"
    return report


def _dla_where(op: str, dla: bool) -> str:
    if not dla:
        return "-"
    if op in DLA_OPS:
        return "yes"
    if op in DATA_MOVEMENT:
        return "gpu? (TensorRT decides: can_run_on_DLA)"
    return f"gpu ({op} is not a DLA layer)"


def dla_layers(proto, verdicts: list[NodeVerdict], pinned: set[str], strongly_typed: bool) -> set[str]:
    """Nodes the DLA would run: a DLA layer type, and FP16/INT8 (DLA has no FP32).

    Strongly typed, a node whose float output is FP32 in the ONNX stays FP32 (unless only a QuantizeLinear reads
    it: then it runs INT8 fused with it); weakly typed, a node pinned to FP32 does.
    """
    import onnx

    from edgevsr.deploy.trt_plan import elem_types

    types = elem_types(proto)
    readers: dict[str, list[str]] = {}
    for n in proto.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n.op_type)
    node = {n.name: n for n in proto.graph.node}
    out = set()
    for v in verdicts:
        if v.dla != "yes":
            continue
        if strongly_typed:
            fp32 = [o for o in node[v.name].output if types.get(o) == onnx.TensorProto.FLOAT]
            if any(set(readers.get(o, [])) != {"QuantizeLinear"} for o in fp32):
                continue
        elif v.name in pinned:
            continue
        out.add(v.name)
    return out


def dla_subgraphs(proto, on_dla: set[str]) -> int:
    """Connected components of the DLA nodes (edges: a tensor one writes and another reads, Q/DQ passed through)."""
    producer = {o: n.name for n in proto.graph.node for o in n.output}
    through = {n.name: list(n.input) for n in proto.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    parent = {n: n for n in on_dla}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def sources(tensor: str, depth: int = 0) -> list[str]:
        p = producer.get(tensor)
        if p in through and depth < 4:
            return [s for i in through[p][:1] for s in sources(i, depth + 1)]
        return [p] if p in on_dla else []

    for n in proto.graph.node:
        if n.name not in on_dla:
            continue
        for i in n.input:
            for src in sources(i):
                parent[find(src)] = find(n.name)
    return len({find(n) for n in on_dla})
