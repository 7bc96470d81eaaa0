"""One run of the sweep on this machine: quality once per (model, precision, backend), speed per size."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgevsr.backends.base import Runner
from edgevsr.backends.opencv.runner import BASELINE
from edgevsr.deploy.provenance import device_label, machine_info
from edgevsr.deploy.report.artifacts import Artifacts
from edgevsr.deploy.report.cache import ResultCache, digest
from edgevsr.deploy.report.config import BACKENDS, NO_WEIGHTS, QUALITY_METRICS, SCHEMA, Cell, SweepConfig, plan_cells
from edgevsr.deploy.report.data import clips_digest, eval_clips, speed_frames
from edgevsr.deploy.report.measure import measure_quality, measure_speed, run_clip, unavailable
from edgevsr.deploy.session import ProfilingSession
from edgevsr.errors import EdgeVSRError, first_line

CellHook = Callable[[dict], None]


@dataclass
class SweepStats:
    measured: int = 0
    cached: int = 0
    not_measured: int = 0
    failed: int = 0
    seconds: float = 0.0


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


class Sweep:
    """One run of the sweep on this machine: cache, evaluation clips, FP32 references, profiling session."""

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
        self.session = ProfilingSession(cfg.threads, status=status)
        self._references: dict[str, list[list[np.ndarray]] | None] = {}
        self._scorer = None

    # shared measurements ---------------------------------------------------------------------------
    def scorer(self):
        if self._scorer is None:
            from edgevsr.quality.scorer import EvalOptions, Scorer

            self._scorer = Scorer(EvalOptions())
        return self._scorer

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
        reason = unavailable(backend, precision, self.has_cuda)
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
            done = {"quality": quality, "quality_note": qnote, **facts_for_cell(facts)}
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
        speed = measure_speed(self.session, runner, frames, self.cfg.warmup, cell.model, device)
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


def facts_for_cell(facts: dict) -> dict:
    return {k: facts.get(k) for k in ("weights", "weights_hash", "trained", "onnx_hash", "onnx_precision",
                                      "int8_groups", "float_groups")}
