"""The sweep's matrix: which (model, precision, backend, LR size) cells exist and the knobs of one sweep."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgevsr.backends.opencv.runner import BASELINE
from edgevsr.errors import EdgeVSRError
from edgevsr.sizes import Size

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
METRIC_LABELS = {"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y", "lpips": "LPIPS (AlexNet)", "tof": "tOF",
                 "tlp100": "tLP100"}
NO_WEIGHTS = "not measured: no trained weights"


# PyTorch runs FP16 convolutions on x86 CPUs through slow fallback kernels (VESPCN at 240x136: ~8x slower than FP32
# here); a cell would take hours at 960x544 and say nothing about FP16 hardware.
CPU_FP16 = "not measured: PyTorch has no fast FP16 kernels on CPU (FP16 is timed in ONNX Runtime and on GPUs)"




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
        if self.threads is not None and self.threads < 1:
            raise EdgeVSRError(f"--threads {self.threads}: must be >= 1")
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
