"""`edgevsr report`: the accuracy-vs-FPS sweep behind the report a decision maker reads.

A *cell* is (model, precision, backend, LR input size). Speed is measured per
cell with :func:`edgevsr.deploy.profile.profile_runner` (synchronised latency
percentiles, FPS, peak memory, FLOPs and % of the device peak) on frames of a
real photo panned by a camera move. Quality is measured once per (model,
precision, backend) on an evaluation set - the built-in photo clip, or GT
sequences given with ``eval_data`` - degraded BD x4: PSNR-Y, SSIM-Y, LPIPS,
tOF, tLP100 against ground truth and against the FP32 PyTorch output of the same
model and weights. Nothing is invented: a cell that cannot run here (no GPU,
no such precision on that backend) says why it was not measured, and a model
without trained weights is timed with untrained weights but gets no quality.

Every measurement is cached under ``OUT/cache/`` by a key naming everything it
depends on (model, weights hash, ONNX file hash, device, size, frame counts,
evaluation-set hash), so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.backends.opencv.runner import BASELINE, OpenCVBicubicRunner  # the thing every model has to beat
from edgevsr.errors import EdgeVSRError, first_line
from edgevsr.quality.paired import PairedClip

SCHEMA = "edgevsr.report/1"
PRECISIONS = ("fp32", "fp16", "int8", "mixed")
# backend id -> (runner backend, device)
BACKENDS: dict[str, tuple[str, str]] = {
    "opencv-cpu": ("opencv", "cpu"),
    "torch-cpu": ("torch", "cpu"),
    "onnxruntime-cpu": ("onnxruntime", "cpu"),
    "torch-cuda": ("torch", "cuda"),
    "onnxruntime-cuda": ("onnxruntime", "cuda"),
    "tensorrt": ("tensorrt", "cuda"),
}
# bicubic-bd: bicubic on BD's sampling grid (TecoGAN's aligned upsampler), the fair baseline for BD x4 input
DEFAULT_MODELS = (BASELINE, "bicubic", "bicubic-bd", "egvsr-lite", "egvsr", "frvsr", "vespcn", "espcn", "sofvsr")
DEFAULT_SIZES = ((240, 136), (480, 272), (960, 544))
QUALITY_METRICS = ("psnr_y", "ssim_y", "lpips", "tof", "tlp100")
NO_WEIGHTS = "not measured: no trained weights"
# PyTorch runs FP16 convolutions on x86 CPUs through slow fallback kernels (VESPCN at 240x136: ~8x slower than FP32
# here); a cell would take hours at 960x544 and say nothing about FP16 hardware.
CPU_FP16 = "not measured: PyTorch has no fast FP16 kernels on CPU (FP16 is timed in ONNX Runtime and on GPUs)"
Size = tuple[int, int]  # LR (width, height)
ONNX_RECIPE = 2  # bump when the way the report makes its ONNX files changes (cached files are then remade)


# ------------------------------------------------------------------------------------------------ config
@dataclass
class SweepConfig:
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    precisions: list[str] = field(default_factory=lambda: list(PRECISIONS))
    backends: list[str] = field(default_factory=lambda: ["opencv-cpu", "torch-cpu", "onnxruntime-cpu",
                                                         "torch-cuda", "tensorrt"])
    sizes: list[Size] = field(default_factory=lambda: list(DEFAULT_SIZES))
    frames: int = 10  # timed frames per speed cell
    warmup: int = 3
    eval_data: Path | None = None  # GT sequences (folders / videos); None: the built-in photo clip
    eval_frames: int = 12  # per sequence
    eval_sequences: int = 4
    eval_size: Size = (480, 272)  # HR (width, height): built-in clip size, centre crop of larger eval frames
    calib_frames: int = 8
    weights: dict[str, str] = field(default_factory=dict)  # model -> path or shipped name
    onnx: list[Path] = field(default_factory=list)  # ready ONNX files (`edgevsr quantize` outputs)
    threads: int | None = None
    quick: bool = False

    @classmethod
    def quick_preset(cls) -> SweepConfig:
        """Minutes on a 2-core CPU: the smallest size, a few frames, FP32, INT8 and mixed (trained models only)."""
        return cls(models=[BASELINE, "bicubic-bd", "egvsr-lite", "egvsr"], precisions=["fp32", "int8", "mixed"],
                   sizes=[(240, 136)], frames=3, warmup=2, eval_frames=6, eval_sequences=2,
                   eval_size=(256, 144), calib_frames=4, quick=True)

    def validate(self) -> None:
        from edgevsr.models import ARCHITECTURES

        for m in self.models:
            if m != BASELINE and m not in ARCHITECTURES:
                raise EdgeVSRError(f"--models {m}: unknown model; choose from {BASELINE}, {', '.join(ARCHITECTURES)}")
        for p in self.precisions:
            if p not in PRECISIONS:
                raise EdgeVSRError(f"--precisions {p}: choose from {', '.join(PRECISIONS)}")
        for b in self.backends:
            if b not in BACKENDS:
                raise EdgeVSRError(f"--backends {b}: choose from {', '.join(BACKENDS)}")
        for w, h in self.sizes:
            if w <= 0 or h <= 0:
                raise EdgeVSRError(f"--sizes {w}x{h}: width and height must be positive")
        if self.frames < 1 or self.warmup < 0 or self.eval_frames < 2 or self.eval_sequences < 1:
            raise EdgeVSRError("--frames >= 1, --warmup >= 0, eval frames >= 2 (tOF needs two) and sequences >= 1")
        if self.eval_data is not None and not Path(self.eval_data).exists():
            raise EdgeVSRError(f"{self.eval_data}: no such file or folder (--eval-data)")
        for m, w in self.weights.items():
            if m not in self.models:
                raise EdgeVSRError(f"--weights {m}={w}: {m} is not in --models")
        for p in self.onnx:
            if not Path(p).is_file():
                raise EdgeVSRError(f"{p}: ONNX file not found (--onnx)")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eval_data"] = str(self.eval_data) if self.eval_data else None
        d["onnx"] = [str(p) for p in self.onnx]
        d["sizes"] = [f"{w}x{h}" for w, h in self.sizes]
        d["eval_size"] = f"{self.eval_size[0]}x{self.eval_size[1]}"
        return d


def applicable(model: str, precision: str, backend: str) -> bool:
    """Combinations that exist at all: the OpenCV baseline runs only itself in FP32; torch has no INT8."""
    kind = BACKENDS[backend][0]
    if (model == BASELINE) != (kind == "opencv"):
        return False
    if kind == "opencv":
        return precision == "fp32"
    if kind == "torch":
        return precision in ("fp32", "fp16")
    return True


@dataclass(frozen=True)
class Cell:
    model: str
    precision: str
    backend: str
    size: Size

    @property
    def size_text(self) -> str:
        return f"{self.size[0]}x{self.size[1]}"

    @property
    def key(self) -> str:
        return f"{self.model}|{self.precision}|{self.backend}|{self.size_text}"


def plan_cells(cfg: SweepConfig) -> list[Cell]:
    return [Cell(m, p, b, s) for m in cfg.models for p in cfg.precisions for b in cfg.backends
            if applicable(m, p, b) for s in cfg.sizes]


# ------------------------------------------------------------------------------------------------ cache
def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class ResultCache:
    """One JSON file per measurement, named by a readable prefix and the hash of its full key."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.hits = self.misses = 0

    def _path(self, kind: str, label: str, key: dict) -> Path:
        safe = "".join(c if c.isalnum() or c in "-." else "_" for c in label)
        return self.root / kind / f"{safe}-{digest(key)}.json"

    def get(self, kind: str, label: str, key: dict) -> dict | None:
        p = self._path(kind, label, key)
        if p.is_file():
            try:
                entry = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                return None  # a torn file from a crash: measure again
            if entry.get("key") == json.loads(json.dumps(key, default=str)):
                self.hits += 1
                return entry["value"]
        return None

    def put(self, kind: str, label: str, key: dict, value: dict) -> None:
        from edgevsr.io.atomic import atomic_path

        p = self._path(kind, label, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.misses += 1
        with atomic_path(p) as tmp:
            tmp.write_text(json.dumps({"key": key, "value": value}, indent=1, default=str))


# ------------------------------------------------------------------------------------------------ machine
def git_commit() -> dict:
    """Commit of the edgevsr source tree (None outside a git checkout) and whether it had local changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def machine_info(ort_threads: int | None = None) -> dict:
    """Environment of this machine (profile's, plus library versions); ``label`` names it in plots."""
    import cv2

    from edgevsr import __version__
    from edgevsr.deploy.devices import jetson_model
    from edgevsr.deploy.profile import environment

    env = environment(ort_threads)
    env.pop("command", None)
    env.update({"numpy": np.__version__, "opencv": cv2.__version__, "edgevsr": __version__,
                "machine": platform.machine(), "jetson": jetson_model(), **git_commit(),
                # OpenMP's wait policy changes CPU timings on a shared machine by up to 10x (spinning threads)
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS")})
    try:
        env["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        env["memory_gib"] = None
    env["label"] = env["jetson"] or env["cpu"]
    return env


def threads_text(env: dict, kind: str = "") -> str:
    """``1 thread`` / ``N threads`` (``kind`` goes before the noun): the threads a machine's cells ran with."""
    n = env.get("torch_threads")
    return f"{n} {kind}thread{'' if n == 1 else 's'}"


def device_label(env: dict, device: str) -> str:
    """``CPU: <cpu> (N threads)`` or ``GPU: <gpu>`` - what a plot's panel is about."""
    if device == "cuda":
        return f"GPU: {env.get('jetson') or env.get('gpu') or 'none on this machine'}"
    return f"CPU: {env.get('cpu')} ({threads_text(env)})"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


# ------------------------------------------------------------------------------------------------ data
def builtin_clip(frames: int, size: Size, mirrored: bool = False) -> list[np.ndarray]:
    """HR frames of a real photo under a smooth camera move (edgevsr.demo); mirrored = other content."""
    from edgevsr.demo import camera_move, sample_photo

    photo = sample_photo()
    if mirrored:
        photo = np.ascontiguousarray(photo[:, ::-1])
    return camera_move(photo, frames, size)


def eval_clips(cfg: SweepConfig, scale: int = 4) -> tuple[list[PairedClip], str]:
    """Evaluation clips (LR made by BD x4 degradation of the GT) and a description of them."""
    if cfg.eval_data is None:
        clips = [PairedClip.from_frames("photo-pan", builtin_clip(cfg.eval_frames, cfg.eval_size), "BD", scale,
                                        cfg.eval_size)]
        desc = (f"built-in clip: matplotlib's grace_hopper.jpg photo under a smooth camera move, "
                f"{cfg.eval_frames} frames {cfg.eval_size[0]}x{cfg.eval_size[1]} HR, BD x4")
    else:
        from edgevsr.quality.datasets import discover_sequences, gt_root

        seqs = discover_sequences(gt_root(Path(cfg.eval_data)))[: cfg.eval_sequences]
        clips = [PairedClip.read(path, name, "BD", scale, cfg.eval_frames, cfg.eval_size) for name, path in seqs]
        clips = [c for c in clips if len(c.gt) >= 2]
        if not clips:
            raise EdgeVSRError(f"{cfg.eval_data}: no sequence with at least 2 frames (--eval-data)")
        h, w = clips[0].gt[0].shape[:2]
        desc = (f"{cfg.eval_data}: {len(clips)} sequence(s), first {cfg.eval_frames} frames, centre crop "
                f"<= {cfg.eval_size[0]}x{cfg.eval_size[1]} (first: {w}x{h}), BD x4")
    return clips, desc


def clips_digest(clips: list[PairedClip]) -> str:
    h = hashlib.sha256()
    for c in clips:
        h.update(c.name.encode())
        for f in c.gt:
            h.update(f.tobytes())
    return h.hexdigest()[:16]


def speed_frames(size: Size, count: int) -> list[np.ndarray]:
    """LR frames of the real photo clip at exactly ``size`` (content does not change a dense net's cost)."""
    return builtin_clip(count, size)


@dataclass
class ModelWeights:
    model: str
    source: str  # where the weights came from ("RANDOM (untrained)" = speed only)
    weights_hash: str | None
    trained: bool


class Artifacts:
    """Weights identities and the ONNX files the ONNX Runtime / TensorRT cells run, made once and cached."""

    def __init__(self, cfg: SweepConfig, root: Path, status: Callable[[str], None]):
        self.cfg, self.root, self.status = cfg, Path(root), status
        self._weights: dict[str, ModelWeights] = {}
        self._onnx: dict[tuple[str, str, str], Path] = {}
        self._given = self._index_given()
        self._calib: Path | None = None

    def weights(self, model: str) -> ModelWeights:
        if model not in self._weights:
            if model == BASELINE:
                self._weights[model] = ModelWeights(model, "no parameters", None, True)
            else:
                import torch

                from edgevsr.weights import load_model, weights_hash

                torch.manual_seed(0)  # untrained weights are at least reproducible
                net, source = load_model(model, self.cfg.weights.get(model), allow_random=True)
                has_params = any(True for _ in net.parameters())
                trained = "RANDOM" not in source
                self._weights[model] = ModelWeights(model, source, weights_hash(net) if has_params else None,
                                                    trained)
        return self._weights[model]

    def _index_given(self) -> dict[tuple[str, str, str], Path]:
        from edgevsr.quantize.export import PRECISION_KEY, read_metadata

        out = {}
        for p in self.cfg.onnx:
            meta = read_metadata(p)
            q = json.loads(meta.get("edgevsr.quantization", "{}") or "{}")
            target = q.get("target") or "onnxruntime"
            out[(meta.get("edgevsr.model", ""), meta.get(PRECISION_KEY, "fp32"), target)] = Path(p)
        return out

    def runner(self, model: str, precision: str, backend: str) -> tuple[Runner, dict]:
        """A runner for the cell group and facts about what it runs (weights, ONNX file and its hash)."""
        from edgevsr.backends.registry import RunnerConfig, make_runner

        kind, device = BACKENDS[backend]
        w = self.weights(model)
        facts: dict[str, Any] = {"weights": w.source, "weights_hash": w.weights_hash, "trained": w.trained}
        if kind == "opencv":
            return OpenCVBicubicRunner(), facts
        if kind == "torch":
            import torch

            torch.manual_seed(0)
            runner, _ = make_runner(RunnerConfig(model=model, weights=self.cfg.weights.get(model), backend="torch",
                                                 device=device, precision=precision, allow_random=True))
            return runner, facts
        target = "tensorrt" if kind == "tensorrt" else "onnxruntime"
        onnx = self.onnx(model, precision, target)
        facts["onnx"] = str(onnx)
        facts["onnx_hash"] = file_digest(onnx)
        facts.update(_quantization_facts(onnx))
        if kind == "tensorrt":
            engine = self._engine(onnx, precision)
            runner, _ = make_runner(RunnerConfig(backend="tensorrt", device="cuda", onnx=engine))
            return runner, facts
        runner, _ = make_runner(RunnerConfig(backend="onnxruntime", device=device, onnx=onnx, threads=self.cfg.threads))
        return runner, facts

    def onnx(self, model: str, precision: str, target: str) -> Path:
        """The ONNX for (model, precision): given with --onnx, else exported / quantized here and cached."""
        key = (model, precision, target)
        if key in self._onnx:
            return self._onnx[key]
        w = self.weights(model)
        given = self._given.get(key) or (self._given.get((model, precision, "onnxruntime"))
                                         if precision in ("fp32", "fp16") else None)
        if given is not None:
            from edgevsr.quantize.export import read_metadata

            h = read_metadata(given).get("edgevsr.weights_hash")
            if w.weights_hash and h != w.weights_hash:
                raise EdgeVSRError(f"{given}: made from other weights than the report's {model} ({w.source}); "
                                   f"pass the same weights with --weights {model}=PATH")
            self._onnx[key] = given
            return given
        if precision in ("int8", "mixed") and model != BASELINE and w.weights_hash is None:
            raise EdgeVSRError(f"not measured: {model} has no weights to quantize")
        if precision == "mixed" and not w.trained:
            raise EdgeVSRError("not measured: the mixed-precision plan is chosen by measuring a trained model's "
                               "quality, and this model has no trained weights")
        recipe = digest({"precision": precision, "target": target, "calib_frames": self.cfg.calib_frames,
                         "calib_size": self.cfg.eval_size, "recipe": ONNX_RECIPE, "code": exporter_version()})[:8]
        tag = f"{model}-{w.weights_hash or 'noparams'}-{precision}-{target}-{recipe}"
        path = self.root / "onnx" / f"{tag}.onnx"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._make_onnx(model, precision, target, path)
        self._onnx[key] = path
        return path

    def _make_onnx(self, model: str, precision: str, target: str, path: Path) -> None:
        from edgevsr.quantize import export as X
        from edgevsr.quantize.pipeline import QuantizeOptions, QuantizePipeline, load_reference

        weights = self.cfg.weights.get(model)
        if precision == "fp32":
            self.status(f"{model}: exporting FP32 ONNX")
            proto, _, _ = load_reference(model, weights, None, allow_random=True)
            X.save_onnx(proto, path)
            return
        self.status(f"{model}: making {precision} ONNX with the quantizer")
        opts = QuantizeOptions(precision="fp16" if precision == "fp16" else "int8", speed_shape=None,
                               target=target, calib_frames=self.cfg.calib_frames,
                               cache=path.with_suffix(".calib.npz"))
        if precision != "fp16":
            opts.calib = self.calibration_folder()
            opts.search = precision == "mixed"
        pipe = QuantizePipeline(model, weights, opts, lambda m: self.status(f"{model} {precision}: {m}"),
                                allow_random=True)
        try:
            if precision == "int8":
                _all_int8(pipe, path)
            else:
                pipe.run(path)
        finally:
            pipe.close()

    def calibration_folder(self) -> Path:
        """LR calibration frames: the built-in photo *mirrored* (other content than the evaluation clip)."""
        if self._calib is None:
            from edgevsr.io.writers import FrameSink

            folder = self.root / "calib"
            n = max(2, self.cfg.calib_frames)
            names = [f"{i:04d}.png" for i in range(n)]
            if not all((folder / x).is_file() for x in names):
                gts = builtin_clip(n, self.cfg.eval_size, mirrored=True)
                with FrameSink(folder, fps=25, names=names) as sink:
                    for lr in PairedClip.from_frames("calib", gts, "BD", 4, self.cfg.eval_size).lr:
                        sink.write(lr)
            self._calib = folder
        return self._calib

    def _engine(self, onnx: Path, precision: str) -> Path:
        """A TensorRT engine (cached by the builder) whose profile covers every swept size."""
        from edgevsr.backends.tensorrt.engine_record import ShapeProfile
        from edgevsr.deploy.trt_builder import BuildOptions, build_engine, inspect_onnx

        m = inspect_onnx(onnx).spec.size_multiple
        padded = [(w + (-w) % m, h + (-h) % m) for w, h in self.cfg.sizes]
        eh, ew = self.cfg.eval_size[1] // 4, self.cfg.eval_size[0] // 4
        padded.append((ew + (-ew) % m, eh + (-eh) % m))
        prof = ShapeProfile((min(p[0] for p in padded), min(p[1] for p in padded)), padded[0],
                            (max(p[0] for p in padded), max(p[1] for p in padded)))
        opts = BuildOptions(precision="fp16" if precision == "fp16" else None, profile=prof)
        return build_engine(onnx, None, opts, log=self.status).engine


def exporter_version() -> str:
    """Hash of the source of everything that shapes an exported / quantized graph: a cached ONNX made by older
    exporter or quantizer code is made again rather than timed as if it were current."""
    import edgevsr.calibration as calibration
    import edgevsr.models as models
    import edgevsr.quantize as quantize

    h = hashlib.sha256()
    for pkg in (quantize, calibration, models):
        for f in sorted(Path(pkg.__file__).parent.glob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _all_int8(pipe, path: Path) -> None:
    """Every layer group in INT8 - the naive INT8 the quantizer's searched "mixed" plan is compared with.

    The quantizer's own steps (calibration steps recorded through the streaming loop, cached activation
    statistics, Q/DQ placement) with an empty float set; metadata as the quantizer writes it.
    """
    from edgevsr.backends.onnxruntime.runner import OnnxRuntimeRunner
    from edgevsr.calibration.calib_data import record_steps
    from edgevsr.calibration.calibrators import cached_stats
    from edgevsr.quantize import export as X
    from edgevsr.quantize.int8 import layer_groups, quantize_qdq

    o = pipe.opts
    with OnnxRuntimeRunner(pipe.ref_path) as runner:
        steps = record_steps(runner, pipe.frames)
    stats, _ = cached_stats(pipe.proto, steps, o.cache)
    proto = quantize_qdq(pipe.proto, stats.ranges(o.method, o.percentile), frozenset(), o.target)
    meta = {p.key: p.value for p in pipe.proto.metadata_props}
    meta[X.PRECISION_KEY] = "int8"
    meta["edgevsr.quantization"] = json.dumps({
        "precision": "int8", "method": o.method, "target": o.target,
        "groups": {g: "int8" for g in layer_groups(pipe.proto)}, "budget": {}, "budget_met": None,
        "note": "edgevsr report: every layer group INT8, no float fallback"})
    X.set_metadata(proto, meta)
    X.save_onnx(proto, path)


def _quantization_facts(onnx: Path) -> dict:
    """What the quantizer recorded: precision in the file and how many layer groups run in INT8."""
    from edgevsr.quantize.export import PRECISION_KEY, read_metadata

    meta = read_metadata(onnx)
    out: dict[str, Any] = {"onnx_precision": meta.get(PRECISION_KEY, "fp32")}
    q = meta.get("edgevsr.quantization")
    if q:
        groups = json.loads(q).get("groups", {})
        int8 = [g for g, v in groups.items() if str(v).startswith("int8")]
        out["int8_groups"] = f"{len(int8)}/{len(groups)}"
        out["float_groups"] = {g: v for g, v in groups.items() if not str(v).startswith("int8")}
    return out


# ------------------------------------------------------------------------------------------------ measuring
def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def measure_speed(runner: Runner, frames: list[np.ndarray], warmup: int, model: str, peak,
                  power_probe=None) -> dict:
    """profile_runner, kept to the figures a report compares (power / FPS per W where a sensor is read)."""
    from edgevsr.deploy.profile import profile_runner
    from edgevsr.models import ARCHITECTURES, build_model

    macs = build_model(model).macs_per_lr_pixel() if model in ARCHITECTURES else None
    r = profile_runner(runner, frames, warmup, macs_per_lr_pixel=macs, peak=peak, power_probe=power_probe,
                       source="built-in photo clip")
    pw = r.get("power") or {}
    lat = r["latency_ms"]
    comp = r["compute"]
    return {"fps": r["fps"], "fps_median": r["fps_median"],
            "latency_ms": {k: lat[k] for k in ("median", "p90", "p99", "mean", "max")},
            "stage_share": r["stage_share"], "peak_mib": r["memory"]["peak_mib"],
            "memory_method": r["memory"]["method"],
            "gflop_per_frame": comp["gflop_per_frame"], "achieved_gflops": comp["achieved_gflops"],
            "peak_gflops": comp["peak_gflops"], "roofline_pct": comp["roofline_pct"],
            "peak_source": comp.get("peak_source"), "compute_note": comp.get("note"),
            "frames": r["frames"], "output": r["input"]["output"],
            "power_w": pw.get("avg_w"), "fps_per_w": pw.get("fps_per_w"),
            "loadavg": [r["environment"]["loadavg_before"][0], r["environment"]["loadavg_after"][0]]}


def run_clip(runner: Runner, lr: list[np.ndarray]) -> list[np.ndarray]:
    from edgevsr.stream import FrameUpscaler

    with runner:
        return list(FrameUpscaler(runner).run(lr))


def measure_quality(outputs: list[list[np.ndarray]], clips: list[PairedClip], reference: list[list[np.ndarray]] | None,
                    scorer) -> dict:
    """Dataset means (mean over sequences of per-sequence means) vs GT and vs the FP32 reference outputs."""
    from edgevsr.quality.scorer import DatasetScores

    metrics = scorer.options.metric_names()
    vs_gt, vs_ref = DatasetScores("output vs gt", metrics), DatasetScores("output vs fp32", metrics)
    for i, clip in enumerate(clips):
        streams = {"output": outputs[i], "gt": clip.gt}
        pairs = [("output", "gt")]
        if reference is not None:
            streams["fp32"] = reference[i]
            pairs.append(("output", "fp32"))
        r = scorer.score_sequence(clip.name, streams, pairs)
        vs_gt.sequences.append(r[("output", "gt")])
        if reference is not None:
            vs_ref.sequences.append(r[("output", "fp32")])
    out = {"vs_gt": {k: _finite(v) for k, v in vs_gt.mean().items()},
           "frames": sum(len(c.gt) for c in clips), "sequences": len(clips)}
    if reference is not None:
        m = vs_ref.mean()
        out["vs_fp32"] = {k: _finite(v) for k, v in m.items()}
        out["identical_to_fp32"] = m.get("psnr_y") is not None and math.isinf(m["psnr_y"])
    return out


# ------------------------------------------------------------------------------------------------ sweep
CellHook = Callable[[dict], None]


@dataclass
class SweepStats:
    measured: int = 0
    cached: int = 0
    not_measured: int = 0
    failed: int = 0
    seconds: float = 0.0


def _unavailable(backend: str, precision: str, has_cuda: bool) -> str | None:
    """Why a (backend, precision) cannot be measured on this machine, or None."""
    kind, device = BACKENDS[backend]
    if device == "cuda" and not has_cuda:
        return "not measured: no GPU"
    if backend == "torch-cpu" and precision == "fp16":
        return CPU_FP16
    if kind == "onnxruntime" and device == "cuda":
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return "not measured: this onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    if kind == "tensorrt":
        try:
            from edgevsr.backends.tensorrt.runner import require_tensorrt

            require_tensorrt()
        except EdgeVSRError:
            return "not measured: TensorRT is not installed"
    return None


class Sweep:
    """One run of the sweep on this machine: shared state (cache, evaluation clips, FP32 references, peaks)."""

    def __init__(self, cfg: SweepConfig, out_dir: Path, status: Callable[[str], None], on_cell: CellHook | None):
        import torch

        self.cfg, self.status, self.on_cell = cfg, status, on_cell
        self.cache = ResultCache(out_dir / "cache")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.threads = torch.get_num_threads()
        self.env = machine_info(cfg.threads)
        self.machine = digest({k: self.env.get(k) for k in ("cpu", "gpu", "jetson", "torch_threads", "platform")})[:8]
        self.artifacts = Artifacts(cfg, out_dir / "cache", status)
        self.clips, self.eval_desc = eval_clips(cfg)
        self.eval_id = clips_digest(self.clips)
        self.has_cuda = cuda_available()
        self.stats = SweepStats()
        self.cells: list[dict] = []
        self._peaks: dict[str, Any] = {}
        self._references: dict[str, list[list[np.ndarray]] | None] = {}
        self._scorer = None

    # shared measurements ---------------------------------------------------------------------------
    def scorer(self):
        if self._scorer is None:
            from edgevsr.quality.scorer import EvalOptions, Scorer

            self._scorer = Scorer(EvalOptions())
        return self._scorer

    def peak(self, device: str):
        if device not in self._peaks:
            from edgevsr.deploy import devices

            if device == "cuda":
                self._peaks[device] = devices.gpu_peak()[1]
            else:
                self.status("measuring the CPU's achievable FP32 peak (matrix products)")
                self._peaks[device] = devices.measure_cpu_peak(self.cfg.threads)
        return self._peaks[device]

    def reference(self, model: str) -> list[list[np.ndarray]] | None:
        """FP32 PyTorch (CPU) outputs of the model on the evaluation clips: what "vs FP32" compares with."""
        if model not in self._references:
            if model == BASELINE:
                self._references[model] = None
            else:
                self.status(f"{model}: FP32 reference outputs on the evaluation set")
                runner, _ = self.artifacts.runner(model, "fp32", "torch-cpu")
                self._references[model] = [run_clip(runner, c.lr) for c in self.clips]
        return self._references[model]

    # cells ---------------------------------------------------------------------------------------------
    def emit(self, cell: dict) -> None:
        self.cells.append(cell)
        st = cell["status"]
        if st == "measured":
            self.stats.cached += 1 if cell.get("cached") else 0
            self.stats.measured += 0 if cell.get("cached") else 1
        elif st == "failed":
            self.stats.failed += 1
        else:
            self.stats.not_measured += 1
        if self.on_cell:
            self.on_cell(cell)

    def blank(self, cell: Cell, status: str, reason: str | None) -> dict:
        device = device_label(self.env, BACKENDS[cell.backend][1])
        return {"machine": self.machine, "device": device, "model": cell.model, "precision": cell.precision,
                "backend": cell.backend, "key": cell.key, "size": cell.size_text,
                "output_size": f"{cell.size[0] * 4}x{cell.size[1] * 4}", "status": status, "reason": reason,
                "eval": self.eval_id, "speed": None, "quality": None, "quality_note": reason}

    def run_group(self, model: str, precision: str, backend: str, group: list[Cell]) -> None:
        """Quality once, then speed per size, for one (model, precision, backend)."""
        reason = _unavailable(backend, precision, self.has_cuda)
        if reason is None:
            self.status(f"{model} {precision} on {backend}")
            try:
                runner, facts = self.artifacts.runner(model, precision, backend)
            except EdgeVSRError as exc:
                msg = first_line(exc, 300)
                reason = msg if msg.startswith("not measured") else f"failed: {msg}"
            except Exception as exc:  # a bug in one cell must not lose the whole sweep
                reason = f"failed: {type(exc).__name__}: {first_line(exc, 300)}"
        if reason is not None:
            for cell in group:
                self.emit(self.blank(cell, "failed" if reason.startswith("failed") else "not measured", reason))
            return
        common = {"model": model, "weights_hash": facts.get("weights_hash"), "onnx_hash": facts.get("onnx_hash"),
                  "precision": precision, "backend": backend,
                  "device": device_label(self.env, BACKENDS[backend][1])}
        quality, qnote = self.quality(runner, facts, common)
        for cell in group:
            done = {"quality": quality, "quality_note": qnote, **_facts_for_cell(facts)}
            try:
                speed, cached = self.speed(runner, cell, common)
            except Exception as exc:
                reason = f"failed: {type(exc).__name__}: {first_line(exc, 300)}"
                self.emit({**self.blank(cell, "failed", reason), **done})
                continue
            self.emit({**self.blank(cell, "measured", None), "cached": cached, "speed": speed, **done})

    def quality(self, runner: Runner, facts: dict, common: dict) -> tuple[dict | None, str | None]:
        """(quality dict, None) or (None, why not) - cached by model, weights, ONNX, device and evaluation set."""
        if not facts["trained"]:
            return None, NO_WEIGHTS
        model, precision, backend = common["model"], common["precision"], common["backend"]
        key = {**common, "eval": self.eval_id, "metrics": list(QUALITY_METRICS), "v": 1}
        label = f"{model}_{precision}_{backend}"
        quality = self.cache.get("quality", label, key)
        if quality is not None:
            return quality, None
        self.status(f"{model} {precision} {backend}: quality on the evaluation set")
        is_reference = backend == "torch-cpu" and precision == "fp32"
        try:
            ref = None if is_reference else self.reference(model)
            outs = [run_clip(runner, c.lr) for c in self.clips]
            if is_reference:
                self._references[model] = outs
            quality = measure_quality(outs, self.clips, ref, self.scorer())
        except EdgeVSRError as exc:
            return None, f"failed: {first_line(exc, 300)}"
        except Exception as exc:
            return None, f"failed: {type(exc).__name__}: {first_line(exc, 300)}"
        if is_reference and model != BASELINE:
            quality["vs_fp32"] = None
            quality["is_fp32_reference"] = True
        quality["eval"] = self.eval_id
        self.cache.put("quality", label, key, quality)
        return quality, None

    def speed(self, runner: Runner, cell: Cell, common: dict) -> tuple[dict, bool]:
        """(speed dict, loaded from the cache)."""
        key = {**common, "size": cell.size_text, "frames": self.cfg.frames, "warmup": self.cfg.warmup,
               "threads": self.threads, "v": 1}
        label = f"{cell.model}_{cell.precision}_{cell.backend}_{cell.size_text}"
        speed = self.cache.get("speed", label, key)
        if speed is not None:
            return speed, True
        self.status(f"{cell.model} {cell.precision} {cell.backend} {cell.size_text}: timing {self.cfg.frames} frames")
        frames = speed_frames(cell.size, self.cfg.warmup + self.cfg.frames)
        device = BACKENDS[cell.backend][1]
        probe = None
        if device == "cuda":  # board / GPU power (NVML, jtop on Jetson) when the sensor library is installed
            from edgevsr.deploy.devices import jetson_model
            from edgevsr.deploy.power import open_probe

            probe, _ = open_probe(0, jetson=jetson_model() is not None)
        speed = measure_speed(runner, frames, self.cfg.warmup, cell.model, self.peak(device), probe)
        self.cache.put("speed", label, key, speed)
        return speed, False


def run_sweep(cfg: SweepConfig, out_dir: str | Path, status: Callable[[str], None] | None = None,
              on_cell: CellHook | None = None, command: str | None = None) -> dict:
    """Measure (or load from the cache) every cell; returns the report dict (schema ``edgevsr.report/1``).

    ``on_cell`` is called with each finished cell (progress; raising there stops the sweep, and the cells
    measured so far stay cached).
    """
    import torch

    cfg.validate()
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    try:  # --threads applies to this sweep only
        sweep = Sweep(cfg, Path(out_dir), status or (lambda _m: None), on_cell)
        groups: dict[tuple[str, str, str], list[Cell]] = {}
        for c in plan_cells(cfg):
            groups.setdefault((c.model, c.precision, c.backend), []).append(c)
        for (model, precision, backend), group in groups.items():
            sweep.run_group(model, precision, backend, group)
    finally:
        torch.set_num_threads(threads)
    sweep.stats.seconds = time.perf_counter() - t0
    return {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machines": {sweep.machine: sweep.env},
        "sweep": cfg.to_dict(),
        "eval": {"description": sweep.eval_desc, "id": sweep.eval_id, "metrics": list(QUALITY_METRICS),
                 "reference": "FP32 PyTorch (CPU) output of the same model and weights",
                 "calibration": "INT8 calibration: LR frames of the built-in photo mirrored (not the eval frames)"},
        "stats": asdict(sweep.stats),
        "cells": sweep.cells,
    }


def _facts_for_cell(facts: dict) -> dict:
    return {k: facts.get(k) for k in ("weights", "weights_hash", "trained", "onnx_hash", "onnx_precision",
                                      "int8_groups", "float_groups")}


# ------------------------------------------------------------------------------------------------ merge
def load_report(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EdgeVSRError(f"{path}: report JSON not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EdgeVSRError(f"{path}: not a JSON file ({first_line(exc, 300)})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise EdgeVSRError(f"{path}: not an edgevsr report (schema {SCHEMA!r} expected; "
                           "make one with `edgevsr report`)")
    return data


def merge_reports(reports: list[dict], sources: list[str] | None = None) -> dict:
    """One report holding the cells of several (e.g. a Jetson run and a desktop run), machines side by side."""
    if not reports:
        raise EdgeVSRError("merge: give at least one report JSON")
    machines: dict[str, dict] = {}
    cells: list[dict] = []
    seen: set[tuple[str, str]] = set()
    evals = []
    for i, r in enumerate(reports):
        machines.update(r["machines"])
        evals.append(r["eval"])
        for c in r["cells"]:
            c = {**c, "eval": c.get("eval") or r["eval"]["id"], "source": (sources[i] if sources else None)}
            k = (c["machine"], c["key"], c["eval"])
            if k in seen:  # the same machine's cell on the same evaluation set twice: the later report wins
                cells = [x for x in cells if (x["machine"], x["key"], x["eval"]) != k]
            seen.add(k)
            cells.append(c)
    ids = {e["id"] for e in evals}
    merged = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": None,
        "merged_from": sources or [],
        "source_commands": [c for r in reports for c in report_commands(r)],
        "machines": machines,
        "sweep": reports[0]["sweep"],
        "eval": evals[0] if len(ids) == 1 else {
            **evals[0], "description": "; ".join(sorted({e["description"] for e in evals})),
            "warning": "the merged reports used different evaluation sets: quality is comparable only "
                       "within one machine's cells"},
        "eval_sets": {k: v for r in reports for k, v in eval_sets(r).items()},
        "stats": {k: sum(r["stats"].get(k, 0) for r in reports) for k in reports[0]["stats"]},
        "cells": cells,
    }
    return merged


def report_commands(report: dict) -> list[str]:
    """The sweep commands that made a report (a merged report: those of the reports it merged)."""
    return [c for c in (report.get("source_commands") or [report.get("command")]) if c]


def eval_sets(report: dict) -> dict[str, str]:
    """Evaluation-set id -> description, of a report or a merge of several."""
    return report.get("eval_sets") or {report["eval"]["id"]: report["eval"]["description"]}


def iter_measured(report: dict) -> Iterator[dict]:
    for c in report["cells"]:
        if c["status"] == "measured":
            yield c
