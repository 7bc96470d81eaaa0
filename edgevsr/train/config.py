"""Training configuration: typed dataclasses read from YAML, validated on load, overridable from the CLI."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edgevsr.errors import EdgeVSRError, first_line


@dataclass
class CurriculumStage:
    """From iteration ``start`` on, train on windows of ``window`` frames, ``crop`` x ``crop`` HR crops, ``batch``."""

    start: int = 0
    window: int = 6
    crop: int = 96
    batch: int = 4


@dataclass
class DataConfig:
    root: str = "data/train-v2"  # folder written by `edgevsr dataset build`
    window: int = 10  # frames per training sample (the recurrent loop runs over all of them)
    crop: int = 128  # HR crop side
    batch: int = 4
    degradation: str = "BD"
    val_clips: list[str] = field(default_factory=lambda: ["tree"])  # clips with split val in the index
    val_frames: int = 30  # first frames of each validation clip used for the periodic check
    curriculum: list[CurriculumStage] = field(default_factory=list)  # later stages override window/crop/batch
    kind_share: dict[str, float] = field(default_factory=dict)  # share of samples per clip kind (video,
    #                                 synthetic), e.g. {video: 0.8, synthetic: 0.2}; empty: by windows held

    def at(self, iteration: int) -> tuple[int, int, int]:
        """(window, crop, batch) for this iteration: the last curriculum stage started, else the base settings."""
        started = [c for c in self.curriculum if c.start <= iteration]
        last = max(started, key=lambda c: c.start) if started else None
        return (last.window, last.crop, last.batch) if last else (self.window, self.crop, self.batch)

    def largest(self) -> tuple[int, int]:
        """The longest window and largest crop any stage asks for (clips must hold them)."""
        return (max([self.window] + [c.window for c in self.curriculum]),
                max([self.crop] + [c.crop for c in self.curriculum]))


@dataclass
class GanConfig:
    """Stage 2 (TecoGAN-style) weights and discriminator settings."""

    pixel_weight: float = 1.0
    warp_weight: float = 1.0
    pingpong_weight: float = 0.5
    perceptual_weight: float = 0.2
    gan_weight: float = 0.01
    d_lr: float = 5e-5
    d_channels: int = 64
    d_update_ratio: float = 0.4  # skip the D step while D's loss is below this fraction of its balanced value
    temporal_weight: float = 0.0  # |e_t - e_{t-1}|, e = output - ground truth: penalises error that flickers
    temporal_warped: bool = False  # the temporal loss warps e_{t-1} along the model's flow first: moving detail
    #                                is free, only flicker costs (warped_temporal_loss)
    tof_tolerance: float = -1.0  # >= 0: best = lowest LPIPS among checkpoints whose tOF (and tLP100, when LPIPS
    #                              is measured) on every val clip is at most (1 + tolerance) x the initial
    #                              weights' on that clip; < 0: off
    bicubic_bd_bound: bool = False  # with tof_tolerance: also no worse than bicubic-bd on every val clip
    #                                 (the default-weights rule of python -m edgevsr.train.temporal_gate)
    bound_weights: str = ""  # with tof_tolerance: the weights whose validation is the bound, in place of the initial
    #                          weights: a run started (init) from a stage-2 checkpoint keeps its stage-1 weights' bound


@dataclass
class TrainConfig:
    model: str = "egvsr"
    stage: int = 1  # 0 = FNet alone vs the flow teacher, 1 = pixel/flow pre-training, 2 = spatio-temporal GAN
    run_dir: str = "runs/egvsr-stage1"
    iterations: int = 100000
    lr: float = 2e-4
    lr_milestones: list[int] = field(default_factory=list)  # iterations where the LR halves
    warmup: int = 100  # iterations of linear LR warm-up
    pixel_weight: float = 1.0
    warp_weight: float = 1.0
    flow_teacher_weight: float = 0.0  # stage 1: FNet flow vs OpenCV DIS flow on the HR frames (LR pixels)
    flow_teacher_until: int = 0  # the teacher is used for iterations < this (0 = always), then joint training
    flow_teacher_detach: bool = True  # while taught, FNet learns from the teacher (+ warp loss) only, not the pixels
    freeze_fnet: bool = False  # stages 1/2: FNet as loaded (stage 0's), not trained; SRNet learns to use its flow
    reinit_fnet: bool = False  # start FNet afresh (zero last layer: no flow) even when ``init`` is given
    flow_teacher_preset: str = "medium"  # OpenCV DIS preset: ultrafast | fast | medium (GPU runs: fast)
    flow_gap_max: int = 3  # stage 0: frame pairs 1..this many frames apart (more, larger motion)
    flow_shift: int = 2  # stage 0: the previous frame is cut up to this many LR px off-centre; teacher flow - shift
    flow_batchnorm: bool = True  # stage 0: BatchNorm in FNet while training, folded into its convs when saved
    flow_batchnorm_until: int = 0  # stage 0: fold the BatchNorm for good at this iteration, train on plain (0 = never)
    time_limit_minutes: float = 0.0  # stop (validate, checkpoint) after this much training time; 0 = no limit
    init: str = ""  # generator weights to start from (stage 2: the stage-1 best)
    warm_start: str = ""  # instead of init: a related model's weights; tensors matching by name and shape are taken
    seed: int = 0
    threads: int = 2
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision on CUDA: bfloat16 autocast (FP32 on a GPU without bfloat16)
    cpu_bf16: bool = False  # bf16 autocast on the CPU (AVX-512 BF16); benchmarks/train_step_speed.py measures it
    channels_last: bool = False  # NHWC weights and activations (faster oneDNN convolutions, with cpu_bf16 most)
    log_every: int = 10
    val_every: int = 200
    val_lpips: bool = True  # LPIPS in validation (skipped when its weights are not installed)
    checkpoint_minutes: float = 5.0
    ema_decay: float = 0.0  # stages 1/2: > 0 keeps an EMA of the generator's weights (e.g. 0.999), validated,
    #                         selected and saved as best; 0 = off. Stage 0 ignores it
    ema_validate_raw: bool = True  # with ema_decay: also validate the raw weights (val.csv raw_psnr_y, raw_tof)
    keep_validated: bool = False  # stages 1-2: every validated generator also as validated/ITERATION.safetensors,
    #                               to choose on more clips afterwards (best.safetensors holds the rule's pick only)
    data: DataConfig = field(default_factory=DataConfig)
    gan: GanConfig = field(default_factory=GanConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check(value, tp, where: str):
    """Coerce/validate one YAML value against a dataclass field type."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise EdgeVSRError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise EdgeVSRError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise EdgeVSRError(f"{where}: expected a mapping, got {value!r}")
        key_tp, value_tp = typing.get_args(tp)
        return {_check(k, key_tp, f"{where} key"): _check(v, value_tp, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise EdgeVSRError(f"{where}: unsupported field type")
    if tp is bool:
        if not isinstance(value, bool):
            raise EdgeVSRError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EdgeVSRError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EdgeVSRError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise EdgeVSRError(f"{where}: expected a string, got {value!r}")
        return value
    raise EdgeVSRError(f"{where}: unsupported field type {tp}")


def _build(cls, raw: dict, where: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise EdgeVSRError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(names))})")
    return cls(**{k: _check(v, hints[k], f"{where}.{k}") for k, v in raw.items()})


def validate(cfg: TrainConfig, source: str) -> TrainConfig:
    from edgevsr.models import ARCHITECTURES
    from edgevsr.models.frnet import FRNet

    problems = []
    if cfg.model not in ARCHITECTURES or cfg.model == "bicubic":
        problems.append(f"model {cfg.model!r} is not a trainable architecture")
    if cfg.stage not in (0, 1, 2):
        problems.append(f"stage must be 0, 1 or 2, not {cfg.stage}")
    elif cfg.model in ARCHITECTURES and cfg.model != "bicubic":
        kind = ARCHITECTURES[cfg.model].kind
        if kind != "recurrent" and cfg.stage == 2:
            problems.append(f"stage 2 (recurrent GAN, ping-pong) needs a recurrent model; {cfg.model!r} is {kind}")
        if kind != "recurrent" and cfg.stage == 0:
            problems.append(f"stage 0 (FNet flow pre-training) needs a recurrent model; {cfg.model!r} is {kind}")
        if kind != "recurrent" and cfg.freeze_fnet:
            problems.append(f"freeze_fnet needs a recurrent model (an FNet); {cfg.model!r} is {kind}")
        if kind == "single":
            problems.append(f"model {cfg.model!r} is a single-image model; edgevsr train trains video models")
        if kind == "recurrent" and not issubclass(ARCHITECTURES[cfg.model], FRNet):  # flow-free (RRN)
            flow_parts = [name for name, on in [("stage 0", cfg.stage == 0), ("stage 2", cfg.stage == 2),
                                                ("freeze_fnet", cfg.freeze_fnet), ("reinit_fnet", cfg.reinit_fnet),
                                                ("flow_teacher_weight > 0", cfg.flow_teacher_weight > 0)] if on]
            if flow_parts:
                problems.append(f"model {cfg.model!r} has no FNet (flow-free); {', '.join(flow_parts)} needs one")
    if cfg.iterations < 1 or cfg.lr <= 0:
        problems.append("iterations must be >= 1 and lr > 0")
    if cfg.threads < 1:
        problems.append(f"threads must be >= 1, not {cfg.threads}")
    for where, (window, crop, batch) in [("data", (cfg.data.window, cfg.data.crop, cfg.data.batch))] + [
            (f"data.curriculum[{i}]", (c.window, c.crop, c.batch)) for i, c in enumerate(cfg.data.curriculum)]:
        if window < 2:
            problems.append(f"{where}.window must be >= 2 (recurrent training), not {window}")
        if crop < 32 or crop % 32:
            problems.append(f"{where}.crop must be a multiple of 32 (x4 scale, size multiple 8), not {crop}")
        if batch < 1:
            problems.append(f"{where}.batch must be >= 1")
        if cfg.stage == 0 and window < cfg.flow_gap_max + 1:
            problems.append(f"stage 0 needs {where}.window >= flow_gap_max + 1 ({cfg.flow_gap_max + 1}), not {window}")
        if cfg.stage == 2 and window < 3:
            problems.append(f"stage 2 needs {where}.window >= 3 (the discriminator sees frame triplets)")
    shares = cfg.data.kind_share
    if shares and not (all(0 <= v < float("inf") for v in shares.values()) and sum(shares.values()) > 0):
        problems.append(f"data.kind_share values must be >= 0 and finite with a positive sum, not {shares}")
    if any(c.start < 0 for c in cfg.data.curriculum):
        problems.append("data.curriculum start iterations must be >= 0")
    if cfg.gan.bound_weights and not (cfg.stage == 2 and cfg.gan.tof_tolerance >= 0):
        problems.append("gan.bound_weights sets the tOF bound of stage 2's selection: it needs stage: 2 and "
                        "gan.tof_tolerance >= 0")
    if cfg.init and cfg.warm_start:
        problems.append("give init (same model) or warm_start (a related model's weights), not both")
    if cfg.freeze_fnet and not (cfg.init or cfg.warm_start):
        problems.append("freeze_fnet keeps the loaded FNet: give init or warm_start (a trained FNet), not a random one")
    if cfg.freeze_fnet and (cfg.stage == 0 or cfg.flow_teacher_weight > 0 or cfg.reinit_fnet):
        problems.append("freeze_fnet keeps the loaded FNet as it is: not with stage 0, a flow teacher "
                        "(flow_teacher_weight > 0) or reinit_fnet, which train or re-draw it")
    if cfg.warm_start and cfg.reinit_fnet:
        problems.append("reinit_fnet applies to init; with warm_start an FNet that does not match starts fresh anyway")
    if cfg.flow_teacher_preset not in ("ultrafast", "fast", "medium"):
        problems.append(f"flow_teacher_preset must be ultrafast, fast or medium, not {cfg.flow_teacher_preset!r}")
    if cfg.flow_gap_max < 1:
        problems.append(f"flow_gap_max must be >= 1, not {cfg.flow_gap_max}")
    if cfg.flow_shift < 0:
        problems.append(f"flow_shift must be >= 0, not {cfg.flow_shift}")
    if cfg.flow_batchnorm_until < 0 or (cfg.flow_batchnorm_until and not cfg.flow_batchnorm):
        problems.append(f"flow_batchnorm_until must be >= 0, and needs flow_batchnorm: true (is "
                        f"{cfg.flow_batchnorm_until}, flow_batchnorm {str(cfg.flow_batchnorm).lower()})")
    if cfg.flow_teacher_weight < 0:
        problems.append(f"flow_teacher_weight must be >= 0, not {cfg.flow_teacher_weight}")
    if cfg.data.degradation not in ("BD", "BI"):
        problems.append(f"data.degradation must be BD or BI, not {cfg.data.degradation!r}")
    if cfg.device not in ("auto", "cpu", "cuda"):
        problems.append(f"device must be auto, cpu or cuda, not {cfg.device!r}")
    if not 0 <= cfg.ema_decay < 1:
        problems.append(f"ema_decay must be >= 0 and < 1 (0 = off), not {cfg.ema_decay}")
    for name in ("pixel_weight", "warp_weight", "pingpong_weight", "perceptual_weight", "gan_weight",
                 "temporal_weight"):  # a term weighted 0 is skipped (pingpong: its pass too); NaN compares false
        w = getattr(cfg.gan, name)
        if not 0 <= w < float("inf"):
            problems.append(f"gan.{name} must be >= 0 and finite, not {w}")
    if problems:
        raise EdgeVSRError(f"{source}: " + "; ".join(problems))
    return cfg


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` maps dotted keys (``data.batch``) to values (CLI flags)."""
    path = Path(path)
    if not path.is_file():
        raise EdgeVSRError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise EdgeVSRError(f"{path}: not valid YAML ({first_line(exc)})") from None
    if not isinstance(raw, dict):
        raise EdgeVSRError(f"{path}: expected a mapping at the top level")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        node = raw
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return validate(_build(TrainConfig, raw, str(path)), str(path))
