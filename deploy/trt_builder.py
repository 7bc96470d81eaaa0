"""`edgevsr build`: a TensorRT engine from an edgevsr ONNX export.

Two ways to get reduced precision, chosen from the installed TensorRT version
and what the ONNX carries (:func:`plan_build`, pure and testable without TensorRT):

- **explicit** (TensorRT >= 10): a strongly typed network; precision comes from
  the ONNX itself (Q/DQ nodes for INT8, FP16 tensors for FP16). TensorRT 11
  knows nothing else: it removed the FP16/INT8 builder flags and calibrators.
- **implicit** (TensorRT <= 10, e.g. JetPack 5/6): a weakly typed FP32 network
  plus the FP16 flag, or the INT8 flag with the calibration cache written by
  ``edgevsr quantize``; layers the quantizer kept in float are pinned to FP32
  (``OBEY_PRECISION_CONSTRAINTS``, the old ``--strict-types``).

The shape profile covers a range of LR sizes; the timing cache is shared by all
builds on a machine; DLA builds put GridSample (and whatever DLA cannot run) on
the GPU. The result is written atomically with its provenance sidecar and is
reused while nothing in its cache key changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from edgevsr.backends.tensorrt.engine_record import EngineRecord, fmt_size, input_shapes
from edgevsr.errors import EdgeVSRError

from .provenance import EngineCache, cache_key, is_current, timing_cache_path, write_engine
from .trt_plan import (
    OOM_PATTERN,
    BuildOptions,
    BuildPlan,
    calibration_cache_kind,
    inspect_onnx,
    layer_matches,
    pinnable_outputs,
    plan_build,
    plan_record,
    rebuild_command,
)


# Building (needs TensorRT and a GPU) -----------------------------------------------------------------
@dataclass
class BuildResult:
    engine: Path
    record: EngineRecord
    plan: BuildPlan
    reused: bool
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def _calibrator(trt, cache: bytes):
    """A calibrator that only replays a calibration cache (no data: edgevsr quantize already calibrated)."""
    base = {"EntropyCalibration2": trt.IInt8EntropyCalibrator2, "EntropyCalibration": trt.IInt8EntropyCalibrator,
            "MinMaxCalibration": trt.IInt8MinMaxCalibrator}[calibration_cache_kind(cache)]

    class CacheCalibrator(base):
        def __init__(self):
            base.__init__(self)

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None  # no data: TensorRT must use the cache

        def read_calibration_cache(self):
            return cache

        def write_calibration_cache(self, data):
            return None

    return CacheCalibrator()


def _check_cuda_match(torch) -> None:
    from importlib.metadata import distributions

    from .trt_plan import tensorrt_cuda_mismatch

    names = [d.metadata["Name"] or "" for d in distributions() if "tensorrt" in (d.metadata["Name"] or "").lower()]
    problem = tensorrt_cuda_mismatch(names, torch.version.cuda)
    if problem:
        raise EdgeVSRError(problem)


def _flag(trt, enum, name):
    member = getattr(enum, name, None)
    if member is None:
        raise EdgeVSRError(f"TensorRT {trt.__version__} has no {enum.__name__}.{name}")
    return member


def build_engine(onnx: str | Path, output: str | Path | None = None, opts: BuildOptions | None = None,
                 cache: EngineCache | None = None, force: bool = False, log=print) -> BuildResult:
    """Build (or reuse) the engine for ``onnx``; ``output`` None puts it in the engine cache."""
    from edgevsr.backends.tensorrt.runner import current_env, make_logger, require_cuda, require_tensorrt

    opts = opts or BuildOptions()
    onnx = Path(onnx)
    facts = inspect_onnx(onnx)
    opts.profile.validate(facts.spec.size_multiple)
    trt = require_tensorrt("edgevsr build")
    torch = require_cuda("edgevsr build")
    _check_cuda_match(torch)
    env = current_env()
    plan = plan_build(env.trt_version, facts, opts)
    record = plan_record(facts, plan, opts, env)
    cache = cache or EngineCache()
    engine_path = Path(output) if output is not None else cache.path_for(record)
    record.rebuild = rebuild_command(onnx, engine_path, plan, opts)
    if not force and is_current(engine_path, record):
        log(f"engine is up to date (cache key {cache_key(record)}): {engine_path}")
        return BuildResult(engine_path, record, plan, reused=True)
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    log(f"TensorRT {env.trt_version} on {env.gpu_name} (sm {env.compute_capability}): {plan.summary()}")
    for note in plan.notes:
        log(f"  - {note}")

    logger = make_logger(trt)
    builder = trt.Builder(logger)
    net_flags = 0
    for name in plan.network_flags:
        net_flags |= 1 << int(_flag(trt, trt.NetworkDefinitionCreationFlag, name))
    network = builder.create_network(net_flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EdgeVSRError(f"{onnx}: the TensorRT ONNX parser rejected it: " + " | ".join(errors[:5]))

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, opts.workspace_mib << 20)
    if hasattr(trt, "ProfilingVerbosity"):
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names for --layers
    if opts.opt_level is not None:  # plan_build refused it below 8.6
        config.builder_optimization_level = opts.opt_level
    for name in plan.builder_flags:
        config.set_flag(_flag(trt, trt.BuilderFlag, name))
    for name in plan.cleared_flags:
        if hasattr(trt.BuilderFlag, name):
            config.clear_flag(getattr(trt.BuilderFlag, name))

    profile = builder.create_optimization_profile()
    spec = facts.spec
    lo, mid, hi = (input_shapes(spec, s) for s in (opts.profile.min, opts.profile.opt, opts.profile.max))
    for i in range(network.num_inputs):
        name = network.get_input(i).name
        if name not in lo:
            raise EdgeVSRError(f"{onnx}: network input {name!r} is not one of the spec's {list(spec.input_names)}")
        profile.set_shape(name, lo[name], mid[name], hi[name])
    config.add_optimization_profile(profile)

    if plan.calibration_cache is not None:
        config.int8_calibrator = _calibrator(trt, plan.calibration_cache.read_bytes())
        if hasattr(config, "set_calibration_profile"):
            config.set_calibration_profile(profile)

    if plan.constrain_fp32:
        wanted = set(plan.constrain_fp32)
        pinned = skipped = 0
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if not layer_matches(layer.name, wanted):
                continue
            outs = [layer.get_output(j) for j in range(layer.num_outputs)]
            idx = pinnable_outputs([getattr(t.dtype, "name", str(t.dtype)) for t in outs],
                                   [bool(getattr(t, "is_shape_tensor", False)) for t in outs])
            if not idx or layer.type == trt.LayerType.SHAPE:
                skipped += 1
                continue
            layer.precision = trt.float32
            for j in idx:
                layer.set_output_type(j, trt.float32)
            pinned += 1
        log(f"  - pinned {pinned} TensorRT layers to FP32 ({len(wanted)} ONNX nodes kept in float; "
            f"{skipped} shape layers left as typed)")

    if opts.dla_core is not None:
        if builder.num_DLA_cores <= opts.dla_core:
            raise EdgeVSRError(f"--dla-core {opts.dla_core}: this device has {builder.num_DLA_cores} DLA cores")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = opts.dla_core
        gpu_only = set(plan.gpu_only_nodes)
        on_gpu = 0
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if (layer.type == trt.LayerType.GRID_SAMPLE or layer_matches(layer.name, gpu_only)
                    or not config.can_run_on_DLA(layer)):
                config.set_device_type(layer, trt.DeviceType.GPU)
                on_gpu += 1
        log(f"  - {network.num_layers - on_gpu} layers on DLA {opts.dla_core}, {on_gpu} on the GPU")

    tc_path = Path(opts.timing_cache) if opts.timing_cache else timing_cache_path(env)
    blob = tc_path.read_bytes() if tc_path.is_file() else b""
    timing = config.create_timing_cache(blob)
    if not config.set_timing_cache(timing, ignore_mismatch=False):
        log(f"  - timing cache {tc_path} was made elsewhere; starting a fresh one")
        timing = config.create_timing_cache(b"")
        config.set_timing_cache(timing, ignore_mismatch=False)

    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - t0
    if serialized is None:
        errors = logger.errors()
        if any(OOM_PATTERN.search(e) for e in errors):
            raise EdgeVSRError(f"{onnx}: out of GPU memory while building; retry with a smaller workspace "
                               f"(--workspace {max(256, opts.workspace_mib // 2)}) or a smaller --max than "
                               f"{fmt_size(opts.profile.max)}")
        raise EdgeVSRError(f"{onnx}: TensorRT could not build an engine: " + (" | ".join(errors[-3:]) or "no message"))

    tc_path.parent.mkdir(parents=True, exist_ok=True)
    from edgevsr.io.atomic import atomic_path

    with atomic_path(tc_path) as tmp:
        tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    record.build_seconds = round(seconds, 2)
    record.built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_engine(bytes(serialized), engine_path, record)
    return BuildResult(engine_path, record, plan, reused=False, seconds=seconds,
                       messages=[m for _, m in logger.messages])
