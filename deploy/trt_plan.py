"""TensorRT build planning, pure and testable without TensorRT: what the ONNX holds, which precision path the
installed (or targeted) TensorRT version takes, the layers pinned to float, and the provenance record.

:mod:`edgevsr.deploy.trt_builder` turns a plan into TensorRT API calls; ``edgevsr build --check`` and
``--dry-run`` use the plan alone.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from edgevsr.backends.tensorrt.engine_record import DEFAULT_PROFILE, EngineRecord, ShapeProfile, fmt_size
from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec
from edgevsr.quantize.int8 import FLOAT_NODES_KEY

from .provenance import file_sha256

PRECISIONS = ("fp32", "fp16", "int8")
PATHS = ("auto", "explicit", "implicit")
COMPUTE_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")
MIN_VERSION = (8, 5)  # execute_async_v3 / set_tensor_address
OPT_LEVEL_VERSION = (8, 6)  # IBuilderConfig.builder_optimization_level appeared in 8.6 (JetPack 5's 8.5 lacks it)
DLA_GONE = (10, 8, 0)  # TensorRT 10.8 to 11.4.0 ship no DLA support (JetPack 6 has 10.3)
DLA_RESTORED = (11, 4, 1)  # 11.4.1 brings it back (JetPack >= 7.2.2)
FLOAT_ELEM = (1, 10, 16)  # onnx.TensorProto FLOAT, FLOAT16, BFLOAT16
OOM_PATTERN = re.compile(r"out of memory|outofmemory|could not be allocated|insufficient memory|"
                         r"cudaErrorMemoryAllocation|memory allocation failed", re.IGNORECASE)


def parse_version(text: str) -> tuple[int, int]:
    m = re.match(r"\s*(\d+)\.(\d+)", str(text))
    if not m:
        raise EdgeVSRError(f"cannot read TensorRT version {text!r}")
    return int(m.group(1)), int(m.group(2))


def parse_version3(text: str) -> tuple[int, int, int]:
    """``10.3.0.30`` -> (10, 3, 0); a missing patch counts as 0 (the DLA gate needs 11.4.0 vs 11.4.1)."""
    major, minor = parse_version(text)
    m = re.match(r"\s*\d+\.\d+\.(\d+)", str(text))
    return major, minor, int(m.group(1)) if m else 0


def has_dla(trt_version: str) -> bool:
    """Whether this TensorRT version builds for the DLA at all (not 10.8 to 11.4.0)."""
    return not DLA_GONE <= parse_version3(trt_version) < DLA_RESTORED


def elem_types(proto) -> dict[str, int]:
    """ONNX element type of every tensor (inferred), so float layers can be told from INT64 shape arithmetic."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:  # a graph the checker cannot type: fall back to what is declared
        inferred = proto
    g = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*g.value_info, *g.input, *g.output]}
    types.update({i.name: i.data_type for i in g.initializer})
    for n in g.node:
        if n.op_type == "Cast":  # declared by the node itself
            types.update({o: a.i for a in n.attribute if a.name == "to" for o in n.output})
    return types


def float_outputs(node, types: dict[str, int]) -> list[str]:
    """The outputs of ``node`` that hold floats; [] for shape arithmetic (sym_size, Concat/Sub on INT64)."""
    return [o for o in node.output if types.get(o) in FLOAT_ELEM]


# What the ONNX carries -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OnnxFacts:
    path: Path
    spec: ModelSpec
    precision: str  # fp32 | fp16 | int8 (has Q/DQ)
    float_nodes: tuple[str, ...] = ()  # compute nodes the quantizer left in float
    grid_sample_nodes: tuple[str, ...] = ()
    sha256: str = ""
    metadata_precision: str = ""
    qdq_problems: tuple[str, ...] = ()  # why TensorRT's parser would reject the Q/DQ (ONNX Runtime form)
    # float-producing nodes a weakly typed FP16/INT8 build must keep FP32: in an FP32 ONNX, those `quantize
    # --fp16` keeps FP32 (warp grid, flow scaling); in an FP16 ONNX, those the export left FP32
    fp32_islands: tuple[str, ...] = ()
    int8_fp16_floats: bool = False  # an INT8 Q/DQ graph whose float parts are FP16 (quantize.int8_fp16)
    shape_nodes: tuple[str, ...] = ()  # nodes with no float output (INT64 shape arithmetic): never pinned


def inspect_onnx(path: str | Path) -> OnnxFacts:
    """Read an edgevsr ONNX export: its ModelSpec, precision (Q/DQ? FP16 tensors?) and float-kept nodes."""
    import onnx

    from edgevsr.quantize.export import SPEC_KEY, read_metadata

    path = Path(path)
    props = read_metadata(path)  # one-line errors for a missing / foreign file
    proto = onnx.load(str(path), load_external_data=False)
    spec = ModelSpec.from_dict(json.loads(props[SPEC_KEY]))
    nodes = list(proto.graph.node)
    made_by_dq = {o for n in nodes if n.op_type == "DequantizeLinear" for o in n.output}
    has_qdq = bool(made_by_dq) or any(n.op_type == "QuantizeLinear" for n in nodes)
    fp16 = onnx.TensorProto.FLOAT16
    has_fp16 = (any(t.data_type == fp16 for t in proto.graph.initializer)
                or any(v.type.tensor_type.elem_type == fp16 for v in [*proto.graph.input, *proto.graph.output])
                or any(n.op_type == "Cast" and any(a.name == "to" and a.i == fp16 for a in n.attribute)
                       for n in nodes))
    float_nodes: list[str] = []
    if has_qdq:  # a compute node whose activation does not come through Q/DQ stayed in float
        float_nodes = [n.name for n in nodes if n.op_type in COMPUTE_OPS and n.input[0] not in made_by_dq]
    if FLOAT_NODES_KEY in props:
        try:
            listed = [str(x) for x in json.loads(props[FLOAT_NODES_KEY])]
        except (ValueError, TypeError):
            raise EdgeVSRError(f"{path}: metadata {FLOAT_NODES_KEY} is not a JSON list of node names") from None
        float_nodes += [n for n in listed if n not in float_nodes]
    precision = "int8" if has_qdq else "fp16" if has_fp16 else "fp32"
    from edgevsr.quantize.fp16 import fp16_nodes
    from edgevsr.quantize.int8_trt import trt_qdq_problems

    types = elem_types(proto)
    floaty = {n.name for n in nodes if float_outputs(n, types) and n.op_type != "Constant"}
    islands: tuple[str, ...] = ()
    if precision == "fp32":  # the same FP32 islands `quantize --fp16` keeps, for implicit FP16 builds
        half = fp16_nodes(proto)
        islands = tuple(n.name for n in nodes if n.name in floaty and n.name not in half)
    elif precision == "fp16":  # the export's own FP32 nodes (grid, warp, GridSample): the FP16 flag may not touch
        islands = tuple(n.name for n in nodes if n.name in floaty
                        and any(types.get(o) == onnx.TensorProto.FLOAT for o in n.output))
    shape = tuple(n.name for n in nodes if n.name not in floaty and n.op_type not in ("Constant", "QuantizeLinear"))
    return OnnxFacts(path, spec, precision, tuple(float_nodes),
                     tuple(n.name for n in nodes if n.op_type == "GridSample"), file_sha256(path),
                     props.get("edgevsr.precision", ""), tuple(trt_qdq_problems(proto)) if has_qdq else (),
                     islands, precision == "int8" and has_fp16, shape)


def layer_matches(layer_name: str, node_names: set[str] | tuple[str, ...]) -> bool:
    """Whether a TensorRT layer is one of the ONNX nodes: an exact name match.

    The parser names the layer of a Conv after its node, and these are network
    layers before any fusion. A prefix match is wrong with the exporter's names:
    ``node_conv2d_1`` + ``_`` is a prefix of ``node_conv2d_10`` .. ``node_conv2d_19``.
    """
    return layer_name in node_names


TRT_FLOAT_TYPES = ("FLOAT", "HALF", "BF16")


def pinnable_outputs(output_types: list[str], shape_tensors: list[bool]) -> list[int]:
    """Indices of a TensorRT layer's outputs that may take an FP32 output type: float data, not shape tensors.

    TensorRT rejects output types on shape layers (INT64 ``sym_size`` / ``Concat`` / ``Sub``), and under
    OBEY_PRECISION_CONSTRAINTS such a pin can fail the build; a layer with no such output is not pinned at all.
    """
    return [j for j, (t, shape) in enumerate(zip(output_types, shape_tensors)) if t in TRT_FLOAT_TYPES and not shape]


def tensorrt_cuda_mismatch(trt_dists: list[str], torch_cuda: str | None) -> str | None:
    """Why the installed TensorRT wheel cannot share buffers with this torch (CUDA majors differ), else None.

    ``trt_dists``: installed distribution names (``tensorrt-cu12``, ``tensorrt_cu13_libs``...); apt's TensorRT
    (JetPack) has none of them and is not judged.
    """
    majors = {int(m.group(1)) for d in trt_dists if (m := re.match(r"tensorrt[-_]cu(\d+)", d.lower()))}
    if not majors or not torch_cuda:
        return None
    want = int(str(torch_cuda).split(".")[0])
    if want in majors:
        return None
    have = "/".join(f"cu{m}" for m in sorted(majors))
    extra = "tensorrt" if want == 12 else f"tensorrt-cu{want}"
    return (f"TensorRT is the CUDA {have.replace('cu', '')} build ({have}) but torch is built for CUDA {torch_cuda}; "
            f"install the matching one: pip install \"edgevsr[{extra}]\"")


# The plan: which path, which flags -------------------------------------------------------------------
@dataclass
class BuildOptions:
    precision: str | None = None  # None: what the ONNX carries
    path: str = "auto"  # auto | explicit | implicit
    profile: ShapeProfile = DEFAULT_PROFILE
    workspace_mib: int = 4096
    calibration_cache: Path | None = None
    timing_cache: Path | None = None  # None: one per GPU + TensorRT version under the cache dir
    dla_core: int | None = None
    opt_level: int | None = None  # builder optimization level 0..5 (TensorRT default 3)


@dataclass
class BuildPlan:
    path: str  # explicit | implicit
    precision: str
    network_flags: list[str] = field(default_factory=list)  # NetworkDefinitionCreationFlag names
    builder_flags: list[str] = field(default_factory=list)  # BuilderFlag names to set
    cleared_flags: list[str] = field(default_factory=list)  # BuilderFlag names to clear
    constrain_fp32: tuple[str, ...] = ()  # ONNX nodes pinned to FP32 (weakly typed builds only)
    calibration_cache: Path | None = None
    gpu_only_nodes: tuple[str, ...] = ()  # kept off the DLA
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        flags = ", ".join(self.network_flags + self.builder_flags) or "none"
        return f"{self.path} path ({self.precision}; flags: {flags})"


def _export_hint(onnx: Path, spec: ModelSpec, precision: str) -> str:
    flag = "--fp16" if precision == "fp16" else "--int8 --target tensorrt"
    return f"edgevsr quantize {spec.name} {flag} -o {onnx.with_suffix('')}-{precision}.onnx"


def plan_build(trt_version: str, facts: OnnxFacts, opts: BuildOptions) -> BuildPlan:
    """Decide explicit vs implicit precision for this TensorRT version and ONNX; raise with advice when impossible."""
    v = parse_version(trt_version)
    if v < MIN_VERSION:
        raise EdgeVSRError(f"TensorRT {trt_version} is too old: edgevsr needs 8.5+ (implicit path) or 10+ (explicit)")
    if opts.path not in PATHS:
        raise EdgeVSRError(f"--path {opts.path!r}: choose one of {', '.join(PATHS)}")
    want = opts.precision or facts.precision
    if want not in PRECISIONS:
        raise EdgeVSRError(f"--precision {want!r}: choose one of {', '.join(PRECISIONS)}")
    explicit_ok, implicit_ok = v >= (10, 0), v < (11, 0)
    onnx = facts.path
    if opts.path == "explicit" and not explicit_ok:
        raise EdgeVSRError(f"--path explicit needs TensorRT 10+ (strongly typed networks); this is {trt_version}")
    if opts.path == "implicit" and not implicit_ok:
        raise EdgeVSRError(f"--path implicit: TensorRT {trt_version} removed the FP16/INT8 builder flags and "
                           "calibrators; use --path explicit with a Q/DQ or FP16 ONNX")
    use_explicit = explicit_ok and opts.path != "implicit"

    if facts.qdq_problems:
        raise EdgeVSRError(f"{onnx}: its Q/DQ is the ONNX Runtime form, which TensorRT's parser rejects "
                           f"({facts.qdq_problems[0]}; {len(facts.qdq_problems)} such nodes); re-quantize with "
                           f"`edgevsr quantize {facts.spec.name} --int8 --target tensorrt`")
    if opts.opt_level is not None:
        if not 0 <= opts.opt_level <= 5:
            raise EdgeVSRError(f"--opt-level {opts.opt_level}: TensorRT takes 0..5")
        if v < OPT_LEVEL_VERSION:
            raise EdgeVSRError(f"--opt-level: TensorRT {trt_version} has no builder optimization level "
                               "(it came in 8.6); drop --opt-level")
    if facts.precision == "int8" and want != "int8":
        raise EdgeVSRError(f"{onnx}: carries INT8 Q/DQ nodes; build it with --precision int8, or build the "
                           f"{want.upper()} export for --precision {want}")
    if facts.precision == "fp16" and want != "fp16":
        raise EdgeVSRError(f"{onnx}: is an FP16 export; build it with --precision fp16, or use the "
                           f"{'FP32 export' if want == 'fp32' else 'Q/DQ export'} for --precision {want}")

    if facts.int8_fp16_floats and not use_explicit:
        raise EdgeVSRError(f"{onnx}: INT8 on the FP16 graph has FP16 Q/DQ scales, which need TensorRT 10+ "
                           "(strongly typed); for this TensorRT quantize without fp16_floats (the FP32-float form)")
    plan = BuildPlan(path="explicit", precision=want)
    if want == facts.precision and use_explicit:
        plan.network_flags = ["STRONGLY_TYPED"]
        plan.notes.append(f"precision taken from the ONNX ({facts.precision}); strongly typed network")
        if facts.float_nodes:
            plan.notes.append(f"{len(facts.float_nodes)} compute layers stay in float by the graph's own types")
        if facts.precision == "int8" and facts.int8_fp16_floats:
            plan.notes.append("INT8 on the FP16 graph: the float parts run FP16 by the graph's own types")
        elif facts.precision == "int8":  # issue 24, finding 6: the FP32-float form
            alt = ("--path implicit runs them FP16 (INT8 + FP16 flags)" if implicit_ok else
                   "TensorRT 11 has no implicit path to run them FP16")
            plan.notes.append(f"strongly typed INT8: the {len(facts.float_nodes)} float compute layers and all "
                              f"elementwise work outside Q/DQ run FP32, as the ONNX types them; {alt}, or "
                              "quantize the FP16-graph form (docs/deploy.md, second review, finding 6)")
    else:  # weakly typed network + builder flags
        if not implicit_ok or opts.path == "explicit":
            raise EdgeVSRError(f"{onnx}: is a {facts.precision.upper()} export; TensorRT {trt_version} "
                               f"{'only builds' if not implicit_ok else 'with --path explicit builds'} reduced "
                               "precision from the graph itself: export it with "
                               f"`{_export_hint(onnx, facts.spec, want)}`")
        plan.path = "implicit"
        if v < (10, 0):
            plan.network_flags = ["EXPLICIT_BATCH"]
        if facts.precision == "int8":  # Q/DQ graph on a weakly typed network: FP16 for what Q/DQ leaves float
            plan.builder_flags = ["INT8", "FP16"]
        elif want == "fp16":
            plan.builder_flags = ["FP16"]
        elif want == "int8":
            cal = opts.calibration_cache
            if cal is None or not Path(cal).is_file():
                raise EdgeVSRError(f"{onnx}: implicit INT8 needs --calibration-cache FILE (written by "
                                   f"`edgevsr quantize {facts.spec.name} --int8 --target tensorrt --trt-cache FILE`)"
                                   f"{'; not found: ' + str(cal) if cal else ''}")
            from edgevsr.calibration.trt_cache import check_cache_version, read_decisions

            check_cache_version(cal, trt_version)
            plan.builder_flags = ["INT8", "FP16"]
            plan.calibration_cache = Path(cal)
            decided = read_decisions(cal)
            if decided is None:
                plan.notes.append(f"no float decisions beside {cal} (.json): every layer with a scale may run INT8")
            else:
                facts = dataclasses.replace(facts, float_nodes=tuple(dict.fromkeys([*facts.float_nodes, *decided])))
            if v >= (10, 1):
                plan.notes.append("implicit INT8 calibration is deprecated since TensorRT 10.1 (removed in 11); "
                                  "prefer a Q/DQ export")
        if want != "fp32" and facts.float_nodes:
            plan.constrain_fp32 = facts.float_nodes
            plan.builder_flags.append("OBEY_PRECISION_CONSTRAINTS")
            plan.notes.append(f"{len(facts.float_nodes)} layers the quantizer kept in float are pinned to FP32")
        if want != "fp32" and facts.precision in ("fp32", "fp16") and facts.fp32_islands:
            plan.constrain_fp32 = tuple(dict.fromkeys([*plan.constrain_fp32, *facts.fp32_islands]))
            if "OBEY_PRECISION_CONSTRAINTS" not in plan.builder_flags:
                plan.builder_flags.append("OBEY_PRECISION_CONSTRAINTS")
            what = ("the FP32 islands of `quantize --fp16`" if facts.precision == "fp32" else
                    "the FP16 export's FP32 nodes, which the FP16 flag would otherwise halve")
            plan.notes.append(f"{len(facts.fp32_islands)} warp / flow-scaling layers pinned to FP32 ({what}: "
                              "a half warp grid is 1.9 px off at 4K); INT64 shape layers are not pinned")
    if want == "fp32":
        plan.cleared_flags = ["TF32"]  # FP32 means FP32, not TensorFloat-32 convolutions
    if opts.dla_core is not None:
        if not has_dla(trt_version):
            raise EdgeVSRError(f"--dla-core: TensorRT {trt_version} has no DLA (10.8 to 11.4.0 ship none); use "
                               "JetPack 6 (TensorRT 10.3) or TensorRT 11.4.1+ on JetPack 7.2.2+")
        if facts.precision == "int8" and v < (10, 0):
            raise EdgeVSRError(f"--dla-core: the DLA on TensorRT {trt_version} does not take explicit quantization "
                               "(Q/DQ); build the FP32 ONNX with --precision int8 --calibration-cache FILE")
        if facts.precision == "int8":
            plan.notes.append("DLA with a Q/DQ network is unverified by edgevsr on TensorRT 10+: check the "
                              "per-layer device report of the build")
        if want == "fp32":
            raise EdgeVSRError("--dla-core: the DLA runs FP16 or INT8 only; pass --precision fp16 or int8")
        if not opts.profile.is_static:
            raise EdgeVSRError(f"--dla-core: the DLA needs one fixed input size; pass the same --min, --opt and "
                               f"--max (profile is {opts.profile.describe()})")
        plan.builder_flags.append("GPU_FALLBACK")
        plan.gpu_only_nodes = facts.grid_sample_nodes
        plan.notes.append(f"DLA core {opts.dla_core} with GPU fallback; GridSample "
                          f"({len(facts.grid_sample_nodes)} nodes) and DLA-unsupported layers run on the GPU")
    return plan


def calibration_cache_kind(data: bytes) -> str:
    """The calibrator a TensorRT calibration cache was written by (first line ``TRT-<ver>-<Kind>``)."""
    first = data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
    m = re.match(r"TRT-\d+-(EntropyCalibration2|EntropyCalibration|MinMaxCalibration)$", first)
    if not m:
        raise EdgeVSRError(f"calibration cache header {first[:60]!r} is not a TensorRT entropy/minmax cache")
    return m.group(1)


def rebuild_command(onnx: Path, engine: Path, plan: BuildPlan, opts: BuildOptions) -> str:
    p = opts.profile
    cmd = (f"edgevsr build {onnx} -o {engine} --precision {plan.precision} --path {plan.path} "
           f"--min {fmt_size(p.min)} --opt {fmt_size(p.opt)} --max {fmt_size(p.max)} --workspace {opts.workspace_mib}")
    if plan.calibration_cache:
        cmd += f" --calibration-cache {plan.calibration_cache}"
    if opts.dla_core is not None:
        cmd += f" --dla-core {opts.dla_core}"
    if opts.opt_level is not None:
        cmd += f" --opt-level {opts.opt_level}"
    if opts.timing_cache is not None:
        cmd += f" --timing-cache {opts.timing_cache}"
    return cmd


def plan_record(facts: OnnxFacts, plan: BuildPlan, opts: BuildOptions, env) -> EngineRecord:
    """The provenance an engine built with this plan will carry (its cache key is known before building)."""
    flags = {"network": plan.network_flags, "builder": plan.builder_flags, "cleared": plan.cleared_flags,
             "workspace_mib": opts.workspace_mib, "dla_core": opts.dla_core, "opt_level": opts.opt_level,
             "fp32_layers": list(plan.constrain_fp32), "gpu_only_layers": list(plan.gpu_only_nodes),
             "calibration_cache_sha256": file_sha256(plan.calibration_cache) if plan.calibration_cache else None}
    return EngineRecord(trt_version=env.trt_version, gpu_name=env.gpu_name, compute_capability=env.compute_capability,
                        sm_count=env.sm_count, memory_gib=env.memory_gib, precision=plan.precision, path=plan.path,
                        profile=opts.profile.to_dict(),
                        onnx_sha256=facts.sha256, spec=facts.spec.to_dict(), flags=flags)
