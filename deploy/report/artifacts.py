"""What the cells run: weights identities, ONNX files made by the one quantize entry point, engines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgevsr.backends.base import Runner
from edgevsr.backends.opencv.runner import BASELINE, OpenCVBicubicRunner
from edgevsr.deploy.report.cache import digest, file_digest
from edgevsr.deploy.report.config import BACKENDS, SweepConfig
from edgevsr.deploy.report.data import builtin_clip
from edgevsr.errors import EdgeVSRError

ONNX_RECIPE = 2  # bump when the way the report makes its ONNX files changes (cached files are then remade)


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
        from edgevsr.backends.registry import make_runner, runner_config

        kind, device = BACKENDS[backend]
        w = self.weights(model)
        facts: dict[str, Any] = {"weights": w.source, "weights_hash": w.weights_hash, "trained": w.trained}
        if kind == "opencv":
            return OpenCVBicubicRunner(), facts
        if kind == "torch":
            import torch

            torch.manual_seed(0)
            runner, _ = make_runner(runner_config(model=model, weights=self.cfg.weights.get(model), backend="torch",
                                                  device=device, precision=precision, allow_random=True))
            return runner, facts
        target = "tensorrt" if kind == "tensorrt" else "onnxruntime"
        onnx = self.onnx(model, precision, target)
        facts["onnx"] = str(onnx)
        facts["onnx_hash"] = file_digest(onnx)
        facts.update(quantization_facts(onnx))
        if kind == "tensorrt":
            engine = self._engine(onnx, precision)
            runner, _ = make_runner(runner_config(backend="tensorrt", device="cuda", onnx=engine))
            return runner, facts
        runner, _ = make_runner(runner_config(backend="onnxruntime", device=device, onnx=onnx,
                                              threads=self.cfg.threads))
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
        """Through the one quantize entry point: fp32 = plain export, int8 = every group INT8 (no search),
        mixed = INT8 with the measured float fallback under the default budget."""
        from edgevsr.quality.gate import QualityBudget
        from edgevsr.quantize.pipeline import QuantizeOptions, quantize_model

        def say(msg: str) -> None:
            self.status(f"{model} {precision}: {msg}")

        if precision == "fp32":
            self.status(f"{model}: exporting FP32 ONNX")
        else:
            self.status(f"{model}: making {precision} ONNX with the quantizer")
        opts = QuantizeOptions(speed_shape=None, target=target, calib_frames=self.cfg.calib_frames,
                               cache=path.with_suffix(".calib.npz"), keep_default_float=False)
        calib = self.calibration_folder() if precision in ("int8", "mixed") else None
        quantize_model(model, path, "int8" if precision == "mixed" else precision,
                       weights=self.cfg.weights.get(model), calibration=calib,
                       budget=QualityBudget() if precision == "int8" else None, search=precision == "mixed",
                       options=opts, status=say, allow_random=True)

    def calibration_folder(self) -> Path:
        """LR calibration frames: the built-in photo *mirrored* (other content than the evaluation clip)."""
        if self._calib is None:
            from edgevsr.io.writers import FrameSink
            from edgevsr.quality.paired import PairedClip

            folder = self.root / "calib"
            n = max(2, self.cfg.calib_frames)
            names = [f"{i:04d}.png" for i in range(n)]
            if not all((folder / x).is_file() for x in names):
                gts = builtin_clip(n, self.cfg.eval_size, mirrored=True)
                with FrameSink(folder, fps=25, names=names, overwrite=True) as sink:  # our own cache
                    for lr in PairedClip.from_frames("calib", gts, "BD", 4, self.cfg.eval_size).lr:
                        sink.write(lr)
            self._calib = folder
        return self._calib

    def _engine(self, onnx: Path, precision: str) -> Path:
        """A TensorRT engine (cached by the builder) whose profile covers every swept size and the eval clip."""
        from edgevsr.deploy.session import engine_for

        eval_lr = (self.cfg.eval_size[0] // 4, self.cfg.eval_size[1] // 4)
        return engine_for(onnx, [*self.cfg.sizes, eval_lr], precision == "fp16", log=self.status)


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


def quantization_facts(onnx: Path) -> dict:
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
