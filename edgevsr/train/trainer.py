"""The training loop: stage 0 (FNet vs the flow teacher), stage 1 (pixel + flow) and stage 2 (spatio-temporal
GAN), checkpoints, resume, validation.

A run directory holds ``last.pt`` (model, optimizers, RNG states, iteration:
everything ``--resume`` needs), ``best.safetensors`` + ``best.json`` (the best
generator by FNet's flow error to the teacher in stage 0, by validation PSNR-Y in stage 1, by LPIPS in
stage 2, optionally only among checkpoints whose tOF stays within ``gan.tof_tolerance`` of the initial
weights' on every validation clip, that bound in ``bound.json``), ``train.csv``
(losses, it/s, unix ``time``), ``val.csv`` (one row per validation, with its unix ``time``) and ``val.png``
(validation curve), ``config.yaml``. ``python -m edgevsr.train.hours RUN_DIR`` counts its training hours.

With ``ema_decay`` > 0 (stages 1 and 2; stage 0 ignores it) the trainer keeps an FP32 exponential moving
average of the generator's weights (:class:`edgevsr.train.ema.WeightAverage`, updated after every generator
step, not the discriminator's), saved in ``last.pt`` and restored by ``--resume``. Validation then measures
the averaged weights as the run's model (selection, ``best.safetensors``, ``best.json`` with
``"weights": "ema"``) and, unless ``ema_validate_raw`` is false, the raw weights too: ``val.csv`` gets
``raw_psnr_y`` and ``raw_tof`` (and ``raw_lpips`` when LPIPS is measured) beside the averaged weights' columns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import signal
import time
from pathlib import Path

import cv2
import torch
import yaml

from edgevsr.data import WindowSampler
from edgevsr.degrade import degrade_tensor
from edgevsr.errors import EdgeVSRError, torch_load_reason
from edgevsr.models import build_model
from edgevsr.train.config import TrainConfig
from edgevsr.train.default_weights_rule import TEMPORAL, judge
from edgevsr.train.ema import WeightAverage
from edgevsr.train.flow_pretrain import folded_state_dict
from edgevsr.train.flow_stage import FlowStage, flow_margin
from edgevsr.train.flow_teacher import fresh_fnet, teacher_flows, teacher_loss, teacher_weight
from edgevsr.train.hours import BEST_SHA256, RUN_FILES, VALIDATED, read_mapping, validated_files
from edgevsr.train.losses import charbonnier, unroll, warp_loss, windowed_flow_loss
from edgevsr.train.validate import evaluate, load_val_clips, make_scorer
from edgevsr.train.warm_start import describe, warm_start
from edgevsr.weights import file_sha256, load_into, read_hashed_state_dict


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise EdgeVSRError("device cuda requested but torch sees no CUDA GPU")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def check_run_dir(run_dir: Path, resume: bool, overwrite: bool, inputs: tuple[str, ...] = ()) -> list[str]:
    """A new run never mixes with an old one: without ``resume`` a folder that holds a run's files is refused
    (its val.csv would get a second curve appended and its checkpoint replaced) unless ``overwrite``. Returns the
    run files ``--overwrite`` removes; nothing is touched here, so a run that then fails to load its config,
    weights or data leaves no folder behind and no old run cleared. ``inputs`` (init, warm_start): a run file
    among them (after resolving links) is refused, since ``--overwrite`` would delete the weights it starts from."""
    if run_dir.exists() and not run_dir.is_dir():
        raise EdgeVSRError(f"{run_dir}: run_dir exists and is not a folder")
    if run_dir.is_symlink() and not run_dir.exists():  # mkdir said only "File exists", after minutes of loading
        raise EdgeVSRError(f"{run_dir}: run_dir is a broken symbolic link (to {os.readlink(run_dir)}); create its "
                           "target or choose another run_dir")
    if resume:
        return []
    held = [name for name in RUN_FILES if (run_dir / name).exists() or (run_dir / name).is_symlink()]
    # keep_validated's files only; anything else there is left alone
    held += [f"{VALIDATED}/{p.name}" for p in validated_files(run_dir).values()]
    if held and not overwrite:
        raise EdgeVSRError(f"{run_dir}: holds a training run ({', '.join(held[:3])}); --resume continues it, "
                           "--overwrite starts afresh and replaces its files")
    odd = [name for name in held if not (run_dir / name).is_file()]  # a folder, a FIFO, a broken link
    if odd:
        raise EdgeVSRError(f"{run_dir / odd[0]}: is not a regular file; a run never wrote it, so --overwrite does "
                           "not remove it (choose another run_dir)")
    for given in inputs:
        for name in held:
            if given and Path(given).exists() and os.path.samefile(given, run_dir / name):
                raise EdgeVSRError(f"{given}: is {run_dir / name}, which --overwrite removes; copy it out of the "
                                   "run folder and start from the copy (or choose another run_dir)")
    return held


def take_run_dir(run_dir: Path, resume: bool, overwrite: bool, inputs: tuple[str, ...] = ()) -> None:
    """Create the run folder and remove an overwritten run's files (only those), once everything has loaded;
    checked again, since another run may have started in the folder while this one loaded its data."""
    held = check_run_dir(run_dir, resume, overwrite, inputs)
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in held:
        (run_dir / name).unlink(missing_ok=True)
    if any(name.startswith(f"{VALIDATED}/") for name in held):
        with contextlib.suppress(OSError):  # not empty: files the run did not write stay, with their folder
            (run_dir / VALIDATED).rmdir()


class Trainer:
    def __init__(self, cfg: TrainConfig, resume: bool = False, console=None, overwrite: bool = False):
        self.cfg = cfg
        self.console = console
        torch.set_num_threads(cfg.threads)
        cv2.setNumThreads(cfg.threads)  # the flow teacher (OpenCV DIS) shares the same cores
        torch.manual_seed(cfg.seed)
        self.device = pick_device(cfg.device)
        self.autocast_dtype = autocast_dtype(self.device, cfg.amp, cfg.cpu_bf16)  # None: FP32
        if cfg.amp and self.device.type == "cuda" and self.autocast_dtype is None:
            self._say("amp: this GPU has no bfloat16 (before Ampere) and float16 without loss scaling loses the "
                      "gradients: training in FP32")
        self.run_dir = Path(cfg.run_dir)
        starts_from = () if resume else (cfg.init, cfg.warm_start, cfg.gan.bound_weights)
        check_run_dir(self.run_dir, resume, overwrite, starts_from)  # refuse before minutes of loading
        kept = self.run_dir / VALIDATED
        if cfg.keep_validated and (kept.is_symlink() or kept.exists() and not kept.is_dir()):
            raise EdgeVSRError(f"{kept}: keep_validated writes a folder there, and this is not one")
        self.model = build_model(cfg.model).to(self.device).train()
        if cfg.channels_last:  # before the optimizer and the checkpoint load: both keep the parameters' layout
            self.model.to(memory_format=torch.channels_last)
        hashes: dict[str, str] = {}  # of the bytes loaded, for start.json (a second read could hash another file)
        if resume:
            pass  # load_checkpoint below replaces every tensor: the starting files need not exist any more
        elif cfg.init:
            state, hashes["init_sha256"] = read_hashed_state_dict(cfg.init)
            load_into(self.model, state, cfg.init)
            if cfg.reinit_fnet:
                fresh_fnet(self.model)
        elif cfg.warm_start:
            state, hashes["warm_start_sha256"] = read_hashed_state_dict(cfg.warm_start)
            parts = warm_start(self.model, state, cfg.warm_start)
            if cfg.freeze_fnet and any(k.startswith("fnet.") for k in parts["fresh"]):
                raise EdgeVSRError(f"{cfg.warm_start}: its FNet does not match {cfg.model}'s; freeze_fnet would "
                                   "freeze an untrained one")
            if "srnet.conv_out.weight" in parts["fresh"]:
                quiet_residual(self.model)
            self._say(describe(parts))
        else:
            quiet_residual(self.model)
        # loaded now, measured at the first validation: a file that cannot load, or holds another model's weights,
        # fails before minutes of data loading
        bound = cfg.gan.bound_weights if cfg.stage == 2 and not resume else ""
        self._bound_model = None
        if bound:
            self._bound_model, hashes["bound_weights_sha256"] = self._load_bound(bound)
        # what it started from, hashed as loaded: the card must not hash a file replaced since
        start = None if resume else {"init_sha256": hashes.get("init_sha256"),
                                     "warm_start_sha256": hashes.get("warm_start_sha256"),
                                     **({"bound_weights_sha256": hashes["bound_weights_sha256"]} if bound else {})}
        self.head_alive = HeadMonitor(self.model)
        root = Path(cfg.data.root)
        window, crop = cfg.data.largest()
        margin = flow_margin(cfg, self.model.scale)
        self.sampler = WindowSampler(root, "train", window, crop + 2 * margin, cfg.seed, cfg.data.kind_share)
        # stage 0 trains FNet alone; SRNet stays as loaded and is saved with it
        self.flow = FlowStage(cfg, self.model, self.sampler, self.device) if cfg.stage == 0 else None
        trained = self.model.fnet if self.flow is not None else self.model
        if cfg.freeze_fnet:  # no gradient, no optimizer state: the flow stays stage 0's
            self.model.fnet.requires_grad_(False)
        self.opt = torch.optim.Adam([p for p in trained.parameters() if p.requires_grad], lr=cfg.lr,
                                    betas=(0.9, 0.999))
        self.val_clips = load_val_clips(root, cfg.data.val_clips, cfg.data.val_frames, cfg.data.degradation)
        self.iteration = 0
        self.best: dict = {}
        self.reference: dict = {}  # stage 2: validation of the initial weights (the tOF bound)
        self._bound_source = "initial weights"  # or gan.bound_weights: whose validation the reference is
        self.scorer = None
        self.gan = None
        if cfg.stage == 2:
            from edgevsr.train.gan import GanStage

            self.gan = GanStage(cfg, self.model, self.device)
        # the generator's weight average (stage 0 trains FNet alone and ignores it); resume replaces it
        self.ema = WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 and self.flow is None else None
        self.ema_model = None  # a second generator the average is copied into for validation (built when needed)
        if cfg.ema_decay > 0 and self.flow is not None:
            self._say("ema_decay is ignored in stage 0 (FNet alone)")
        if resume:
            self.load_checkpoint()
            if self.tof_bounded and not self.reference and cfg.gan.bound_weights:  # killed before its first validation
                started = self.run_dir / "start.json"
                sha = read_mapping(started).get("bound_weights_sha256") if started.is_file() else None
                self._bound_model = self._load_bound(cfg.gan.bound_weights, sha)[0]
        take_run_dir(self.run_dir, resume, overwrite, starts_from)
        if self.reference and not (self.run_dir / "bound.json").exists():  # a run started before bound.json
            self._write_bound(self._bound_source)
        if start is not None:
            write_run_file(self.run_dir / "start.json", json.dumps(start))
        # a config.yaml that is a link (to the user's own config) is replaced by the file, its target left alone
        write_run_file(self.run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        self._stop = False

    # ---- checkpoints -------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "last.pt"

    def save_checkpoint(self) -> None:
        from edgevsr.io.atomic import atomic_path

        state = {"iteration": self.iteration, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "sampler_rng": json.dumps(self.sampler.state()), "torch_rng": torch.get_rng_state(),
                 "best": json.dumps(self.best), "reference": json.dumps(self.reference),
                 "config": json.dumps(self.cfg.to_dict())}
        if self.gan is not None:
            state.update(self.gan.state_dict())
        if self.ema is not None:
            state.update(self.ema.state_dict())
        with atomic_path(self.checkpoint_path) as tmp:
            torch.save(state, tmp)

    def load_checkpoint(self) -> None:
        path = self.checkpoint_path
        if not path.is_file():
            raise EdgeVSRError(f"{path}: no checkpoint to resume from")
        state = read_checkpoint(path, self.device)
        saved = json.loads(state["config"])
        if saved["model"] != self.cfg.model or saved["stage"] != self.cfg.stage:
            raise EdgeVSRError(f"{path}: checkpoint is {saved['model']} stage {saved['stage']}, config asks "
                               f"{self.cfg.model} stage {self.cfg.stage}")
        saved_bn = any(".running_mean" in k for k in state["model"] if k.startswith("fnet."))
        if self.flow is not None and self.flow.batchnorm and not saved_bn:
            self._fold_fnet()  # saved after the fold: the plain FNet, and its optimizer
        elif saved_bn and (self.flow is None or not self.flow.batchnorm):
            raise EdgeVSRError(f"{path}: checkpoint's FNet has training-time BatchNorm; resume it with stage: 0 "
                               "and flow_batchnorm: true")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sampler.set_state(json.loads(state["sampler_rng"]))
        torch.set_rng_state(state["torch_rng"].cpu())
        self.iteration = int(state["iteration"])
        self.best = json.loads(state["best"])
        self.reference = json.loads(state.get("reference", "{}"))
        was, now = saved.get("gan", {}).get("bound_weights") or "", self.cfg.gan.bound_weights
        if self.tof_bounded and bool(was) != bool(now):  # the card, bound.json would name weights that did not bound it
            raise EdgeVSRError(f"{path}: the run's tOF bound is {was or 'its initial weights'}'s, the config's "
                               f"gan.bound_weights is {now or 'not set'}: resume with the run's gan.bound_weights")
        self._bound_source = was or "initial weights"
        if self.gan is not None:
            self.gan.load_state_dict(state)
        if self.ema is not None:
            if "ema" in state:
                self.ema.load_state_dict(state)
            else:  # written before the average existed, or by a run without it
                self.ema.reset(self.model)
                self._say(f"{path}: no weight average in the checkpoint; the EMA starts from the weights of "
                          f"iteration {self.iteration}")
        elif "ema" in state:  # the config turned the average off: say so, since best was chosen on it until now
            self._say(f"{path}: the checkpoint's weight average is dropped (ema_decay is 0 now); from here on the raw "
                      "weights are validated and saved")

    # ---- one iteration -----------------------------------------------------------------------------
    def current_lr(self) -> float:
        warm = min(1.0, (self.iteration + 1) / self.cfg.warmup) if self.cfg.warmup else 1.0
        return warm * self.cfg.lr * 0.5 ** sum(self.iteration >= m for m in self.cfg.lr_milestones)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        window, crop, batch = self.cfg.data.at(self.iteration)
        hr = self.sampler.sample(batch, window, crop).to(self.device)
        n, t = hr.shape[:2]
        lr = degrade_tensor(hr.flatten(0, 1), self.cfg.data.degradation).unflatten(0, (n, t))
        return lr, hr

    def step(self) -> dict[str, float]:
        for g in self.opt.param_groups:
            g["lr"] = self.current_lr()
        if self.flow is not None:
            return self.flow_step()
        lr, hr = self.batch()
        if self.gan is not None:
            losses = self.gan.step(self.opt, lr, hr, self.autocast_dtype)
        else:
            losses = self.generator_step(lr, hr)
        if self.ema is not None:
            self.ema.update(self.model)
        return losses

    def generator_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
        """Stage 1: one optimizer step of the generator on this batch."""
        extra = {}
        has_flow = self.model.kind == "recurrent" and hasattr(self.model, "fnet")
        teach = teacher_weight(self.cfg.flow_teacher_weight, self.cfg.flow_teacher_until, self.iteration)
        teach = teach if has_flow else 0.0
        if teach:  # full precision, outside autocast
            target, valid = teacher_flows(hr, self.model.scale, preset=self.cfg.flow_teacher_preset,
                                          workers=self.cfg.threads)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            if has_flow:
                out, flows = unroll(self.model, lr, detach_flow=bool(teach) and self.cfg.flow_teacher_detach)
                wrp = warp_loss(lr, flows.float())
                if teach:
                    extra["teacher"] = teacher_loss(flows.float(), target, valid)
            elif self.model.kind == "recurrent":  # flow-free (RRN): the streaming loop itself, no flow to teach
                out = self.model.forward_sequence(lr)
                wrp = lr.new_zeros(())
            else:  # windowed (SOF-VSR, VESPCN): the same windows as inference, plus the model's flow loss
                out = self.model.forward_sequence(lr)
                wrp = windowed_flow_loss(self.model, lr, hr).float()
            pix = charbonnier(out.float(), hr)
            loss = self.cfg.pixel_weight * pix + self.cfg.warp_weight * wrp
            if extra:
                loss = loss + teach * extra["teacher"]
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "pixel": pix.item(), "warp": wrp.item(),
                **{k: v.item() for k, v in extra.items()}, "alive": self.head_alive.value}

    def flow_step(self) -> dict[str, float]:
        """Stage 0: one batch of frame pairs, L2 to the (shifted) teacher flow; BatchNorm folded when due."""
        if self.flow.fold_due(self.iteration):
            # BatchNorm breaks FNet's plateau; the plain network then learns not to lean on batch statistics
            self.flow.estimate_batchnorm(self.iteration)
            self._fold_fnet()
        loss, stats = self.flow.loss(self.iteration)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), **stats}

    def _fold_fnet(self) -> None:
        """Fold FNet's BatchNorm for good; the optimizer starts afresh on the plain FNet."""
        self.flow.fold()
        self.opt = torch.optim.Adam(self.model.fnet.parameters(), lr=self.current_lr(), betas=(0.9, 0.999))

    # ---- validation --------------------------------------------------------------------------------
    def validate_flow(self) -> dict:
        """Stage 0: FNet's endpoint error to the teacher per validation clip; best = lowest mean."""
        row = self.flow.validate(self.iteration, self.val_clips)
        if not self.best or row["flow_epe"] < self.best["flow_epe"]:
            self.best = dict(row)
            self._save_best(self.model)
        self._append_csv(self.run_dir / "val.csv", {**row, "time": time.time()})
        self.flow.plot(self.run_dir, self.val_clips)
        return row

    def validate(self) -> dict:
        if self.flow is not None:
            return self.validate_flow()
        if self.scorer is None:
            self.scorer = make_scorer(self.cfg.val_lpips)
        model = self.selected_model()
        row = {"iteration": self.iteration, **evaluate(model, self.val_clips, self.device, self.scorer)}
        row["gain_db"] = row["psnr_y"] - row["psnr_y_bicubic"]
        row["gain_db_bd"] = row["psnr_y"] - row["psnr_y_bicubic_bd"]
        if self.tof_bounded and not self.reference:
            self.reference, source = self.bound_reference(row)
            self._write_bound(source)
        key = "lpips" if self.gan is not None and "lpips" in row else "psnr_y"
        sign = -1 if key == "lpips" else 1
        eligible = True
        if self.tof_bounded:
            row["tof_ok"] = eligible = self.within_tof_bound(row)
        if self.ema is not None and self.cfg.ema_validate_raw:  # the raw weights beside the average
            # before the first update the average is the weights themselves: measured once
            raw = evaluate(self.model, self.val_clips, self.device, self.scorer) if self.ema.updates else row
            row.update({f"raw_{k}": raw[k] for k in ("psnr_y", "tof", "lpips") if k in raw})
        if eligible and (not self.best or sign * (row[key] - self.best[key]) > 0):
            self.best = dict(row, **({"weights": "ema"} if self.ema is not None else {}))
            self._save_best(model)
        if self.cfg.keep_validated:
            (self.run_dir / VALIDATED).mkdir(exist_ok=True)
            self._save_generator(model, self.run_dir / VALIDATED / f"{self.iteration}.safetensors")
        # when it was measured: hours.py places it on the counted hours and tells a discarded branch's rows apart
        self._append_csv(self.run_dir / "val.csv", {**row, "time": time.time()})
        self._plot()
        return row

    def bound_reference(self, row: dict) -> tuple[dict, str]:
        """The validation every checkpoint's tOF and tLP100 are bounded by, and where it came from: the initial
        weights' (``row``), or with ``gan.bound_weights`` those weights' (a stage-2 run continued from a stage-2
        checkpoint is still held to the stage-1 weights it came from, which the default-weights rule names)."""
        path = self.cfg.gan.bound_weights
        if not path:
            return dict(row), "initial weights"
        model, self._bound_model = self._bound_model, None  # loaded at start (fresh or resumed)
        ref = {"iteration": self.iteration, **evaluate(model.to(self.device).eval(), self.val_clips, self.device,
                                                       self.scorer)}
        self._say(f"bound ({path}) " + " ".join(f"{k}={x:.4f}" for k, x in ref.items()
                                                if k.startswith(("tof@", "tlp100@"))))
        return ref, path

    def _load_bound(self, path: str, sha256: str | None = None) -> tuple[torch.nn.Module, str]:
        """``gan.bound_weights`` in a generator of the run's model, and its bytes' SHA-256; ``sha256``: the hash
        start.json recorded (a file replaced since would bound the run by weights its card does not name)."""
        def check(found: str) -> None:
            if sha256 is not None and found != sha256:
                raise EdgeVSRError(f"{path}: gan.bound_weights changed since the run started (SHA-256 differs from "
                                   f"{self.run_dir / 'start.json'}'s); restore it or start afresh with --overwrite")

        state, found = read_hashed_state_dict(path, check)
        with torch.random.fork_rng(devices=[]):  # its random init must not move the training's RNG stream
            model = build_model(self.cfg.model)
        load_into(model, state, path)
        return model, found

    def _write_bound(self, source: str) -> None:
        """``bound.json``: the reference in a file figures can read (``last.pt`` keeps it for resume). With
        ``gan.bound_weights`` the run's iteration-0 row is not its bound, so val.csv alone misjudges the run."""
        write_run_file(self.run_dir / "bound.json", json.dumps({"source": source, **self.reference}, indent=2))

    def selected_model(self) -> torch.nn.Module:
        """The generator validation measures and ``best.safetensors`` holds: the weight average when EMA is on
        (copied into a second instance, so the training model and its optimizer are untouched), else the model."""
        if self.ema is None:
            return self.model
        if self.ema_model is None:
            with torch.random.fork_rng(devices=[]):  # its random init must not move the training's RNG stream
                self.ema_model = build_model(self.cfg.model).to(self.device).eval().requires_grad_(False)
            if self.cfg.channels_last:
                self.ema_model.to(memory_format=torch.channels_last)
        return self.ema.copy_to(self.ema_model)

    @property
    def tof_bounded(self) -> bool:
        return self.gan is not None and self.cfg.gan.tof_tolerance >= 0

    def within_tof_bound(self, row: dict) -> bool:
        """The stage-2 selection rule, per validation clip (an average hides one clip getting worse): tOF, and
        tLP100 where LPIPS is measured, at most (1 + tolerance) x the initial weights' on that clip, and with
        ``bicubic_bd_bound`` no worse than bicubic-bd's. The temporal gate for default weights, in training
        (:mod:`edgevsr.train.default_weights_rule`); a metric the reference has and ``row`` lacks fails."""
        bd_keys: dict[str, str] = {}  # bounded key (tof@clip; tof without per-clip keys) -> bicubic-bd's column
        for metric in TEMPORAL:
            keys = [k for k in self.reference if k.startswith(f"{metric}@")]
            if not keys and metric in self.reference:
                keys = [metric]
            bd_keys.update({k: k.replace(metric, f"{metric}_bicubic_bd", 1) for k in keys})
        bicubic_bd = {k: row.get(c) for k, c in bd_keys.items()} if self.cfg.gan.bicubic_bd_bound else None
        verdicts = judge({k: row.get(k) for k in bd_keys}, {k: self.reference[k] for k in bd_keys}, bicubic_bd,
                         self.cfg.gan.tof_tolerance)
        return not any(v.fails for v in verdicts.values())

    def _save_best(self, model: torch.nn.Module) -> None:
        """``model`` (the generator just validated) as best.safetensors, with best.json."""
        best = self.run_dir / "best.safetensors"
        self._save_generator(model, best)
        # the pair is two renames: the hash lets readers tell a best.json left from before (hours.read_best)
        write_run_file(self.run_dir / "best.json",
                       json.dumps({**self.best, BEST_SHA256: file_sha256(best)}, indent=2))

    @staticmethod
    def _save_generator(model: torch.nn.Module, path: Path) -> None:
        """FP32 weights, FNet's BatchNorm folded, through a temp renamed when complete."""
        from safetensors.torch import save_file

        from edgevsr.io.atomic import atomic_path

        sd = {k: v.detach().float().cpu().contiguous() for k, v in folded_state_dict(model).items()}
        with atomic_path(path) as tmp:
            save_file(sd, str(tmp))

    @staticmethod
    def _append_csv(path: Path, row: dict) -> None:
        """Append a row; a new file, or one whose columns change (a resumed run with new metrics), is written whole
        through a temp: a kill mid-rewrite must not cut short the curve a resumed run goes on reading."""
        rows, fields, same = [], list(row), False
        if path.exists():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                old = list(reader.fieldnames or [])
                same = old == fields
                if not same:
                    rows = list(reader)
                    fields = old + [k for k in fields if k not in old]
        if same:
            with open(path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=fields, restval="").writerow(row)
            return
        text = io.StringIO()
        w = csv.DictWriter(text, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows([*rows, row])
        write_run_file(path, text.getvalue())

    def _plot(self) -> None:
        import matplotlib

        from edgevsr.quality.plots import save_png

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        with open(self.run_dir / "val.csv") as f:
            rows = list(csv.DictReader(f))
        it = [int(r["iteration"]) for r in rows]
        warp = [k for k in (rows[0] if rows else {}) if k.startswith("warp_err@")]
        fig, axes = plt.subplots(1, 2 if warp else 1, figsize=(11 if warp else 6, 3.5), squeeze=False)
        ax = axes[0, 0]
        ema = " (EMA)" if self.ema is not None else ""
        ax.plot(it, [float(r["psnr_y"]) for r in rows], "o-", label=f"{self.cfg.model} stage {self.cfg.stage}{ema}")
        raw = [(i, float(r["raw_psnr_y"])) for i, r in zip(it, rows, strict=True) if r.get("raw_psnr_y")]
        if raw:  # the raw weights beside their average
            ax.plot(*zip(*raw, strict=True), ".-", alpha=0.5, label="raw weights")
        ax.plot(it, [float(r["psnr_y_bicubic"]) for r in rows], "--", label="bicubic")
        if rows and rows[0].get("psnr_y_bicubic_bd"):
            ax.plot(it, [float(r["psnr_y_bicubic_bd"]) for r in rows], ":", label="bicubic (BD grid)")
        ax.set_xlabel("iteration")
        ax.set_ylabel("PSNR-Y (dB), held-out " + ",".join(self.cfg.data.val_clips))
        ax.grid(alpha=0.3)
        ax.legend()
        lp = [(i, float(r["lpips"])) for i, r in zip(it, rows, strict=True) if r.get("lpips")]
        if lp:
            ax2 = ax.twinx()
            ax2.plot(*zip(*lp, strict=True), "s:", color="tab:red", label="LPIPS")
            ax2.set_ylabel("LPIPS (lower is better)")
        if warp:  # the recurrence's diagnostic: previous HR output warped by the model's flow vs current GT
            ax = axes[0, 1]
            for k in warp:
                pts = [(i, float(r[k])) for i, r in zip(it, rows, strict=True) if r.get(k)]
                line, = ax.plot(*zip(*pts, strict=True), "o-", label=k.split("@")[1])
                gt = [(i, float(r[f"warp_err_gt@{k.split('@')[1]}"])) for i, r in zip(it, rows, strict=True)
                      if r.get(f"warp_err_gt@{k.split('@')[1]}")]
                if gt:
                    ax.plot(*zip(*gt, strict=True), ":", color=line.get_color())
            ax.set_xlabel("iteration")
            ax.set_ylabel("warp error (8-bit levels)")
            ax.set_title("warp(out[t-1]) vs gt[t] (solid); warp(gt[t-1]) (dotted)", fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        save_png(fig, self.run_dir / "val.png")

    # ---- the loop ----------------------------------------------------------------------------------
    def request_stop(self, *_args) -> None:
        self._stop = True

    def fit(self, iterations: int | None = None, progress=None) -> dict:
        """Train up to ``iterations`` (total, counting resumed ones); checkpoints with every validation, on time, at the
        end and on SIGTERM."""
        total = iterations or self.cfg.iterations
        old = signal.signal(signal.SIGTERM, self.request_stop) if _main_thread() else None
        last_ckpt = time.monotonic()
        window: list[float] = []
        task = progress.add_task(f"{self.cfg.model} stage {self.cfg.stage}", total=total,
                                 completed=self.iteration, rate="") if progress else None
        diverged = False
        try:
            started_from = self.cfg.init or self.cfg.warm_start
            if (self.tof_bounded and not self.reference) or (started_from and self.iteration == 0 and not self.best):
                # the initial weights: the tOF bound every later checkpoint must keep, and (any stage started from
                # weights) the first point of the curve, which a checkpoint must beat to become `best`
                v = self.validate()
                self._say("val (initial weights) " + " ".join(f"{k}={x:.4f}" for k, x in v.items()
                                                             if k != "iteration"))
            started = time.monotonic()
            while self.iteration < total and not self._stop:
                if self.cfg.time_limit_minutes and time.monotonic() - started > 60 * self.cfg.time_limit_minutes:
                    self._say(f"time limit ({self.cfg.time_limit_minutes:g} min) reached at iteration {self.iteration}")
                    if self.iteration % self.cfg.val_every:
                        self.validate()  # the last weights are measured too
                    break
                t0 = time.perf_counter()
                losses = self.step()
                if not all(math.isfinite(v) for k, v in losses.items() if k != "alive"):
                    # the optimizer has already stepped on it (the weights, their average, Adam's moments are
                    # NaN now): the checkpoint on disk, from before, is the one to resume, so it is not overwritten
                    diverged = True
                    raise EdgeVSRError(f"{self.run_dir}: loss became {losses} at iteration {self.iteration}; "
                                       "lower lr and --resume from the last checkpoint")
                self.iteration += 1
                window = (window + [time.perf_counter() - t0])[-20:]
                ips = len(window) / sum(window)
                if progress:
                    desc = " ".join(f"{k} {v:.4f}" for k, v in losses.items())
                    progress.update(task, completed=self.iteration, rate=f"{desc} | {ips:.2f} it/s")
                if self.iteration % self.cfg.log_every == 0 or self.iteration == 1:
                    row = {"iteration": self.iteration, "lr": self.current_lr(), **losses, "it_per_s": ips,
                           "time": time.time()}
                    self._append_csv(self.run_dir / "train.csv", row)
                    self._say(" ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in row.items() if k != "time"))
                validated = self.iteration % self.cfg.val_every == 0
                if validated:
                    v = self.validate()
                    self._say(f"val it={self.iteration} " + " ".join(f"{k}={x:.4f}" for k, x in v.items()
                                                                     if k != "iteration"))
                # a checkpoint with every validation too: a run killed later (SIGKILL, machine gone) resumes from
                # what was measured, and its record of `best` agrees with best.safetensors
                if validated or time.monotonic() - last_ckpt > 60 * self.cfg.checkpoint_minutes:
                    self.save_checkpoint()
                    last_ckpt = time.monotonic()
        finally:
            if not diverged:
                self.save_checkpoint()
            if old is not None:
                signal.signal(signal.SIGTERM, old)
        return self.best

    def _say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, highlight=False, markup=False)


def write_run_file(path: Path, text: str) -> None:
    """Replace a run file whole (temp beside it, renamed when complete): written in place, a kill mid-write left it
    cut short for the resumed run, ``ship`` or ``candidate`` to read. A link is replaced, never written through."""
    from edgevsr.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, newline="")


def autocast_dtype(device: torch.device, amp: bool, cpu_bf16: bool) -> torch.dtype | None:
    """The training step's autocast dtype (None: FP32): ``amp`` on CUDA, ``cpu_bf16`` on the CPU.

    bfloat16 on CUDA too, never float16: a mean loss over a batch's millions of pixels gives each activation a
    tiny gradient (egvsr-lite at the GPU sprint's 16 x 10 frames of 128 px: median 1.2e-7 at SRNet's last conv and
    FNet's flow head, every one below float16's smallest normal 6.1e-5), and without loss scaling float16 flushes
    most of them to zero: in that step over half of the parameter tensors got an all-zero gradient. bfloat16 keeps
    FP32's exponent range. A GPU without it (before Ampere) trains in FP32."""
    if device.type == "cuda":
        return torch.bfloat16 if amp and torch.cuda.get_device_capability(device)[0] >= 8 else None
    return torch.bfloat16 if cpu_bf16 else None


def read_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    """A run's ``last.pt``, loaded with ``weights_only`` (no pickled code runs); one-line error if unreadable."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise EdgeVSRError(f"{path}: cannot read checkpoint: {torch_load_reason(exc)}") from None


def quiet_residual(model: torch.nn.Module) -> None:
    """Start from (almost) plain bicubic: shrink the last conv of SRNet's residual branch.

    EGVSR's head is PixelShuffle -> ReLU -> 3x3 conv on only nf/16 channels. With
    the default init the random residual costs ~4 dB, and the fastest way for the
    optimiser to remove it is to push everything before that ReLU negative: the
    head dies (measured: 99.9 % zeros after 450 iterations) and the model stays
    bicubic for good. A zero last layer starts the model at exactly bicubic and
    puts no pressure on the head until the last layer has learnt a useful mix of it
    (0.1 x the default init still died).
    """
    srnet = getattr(model, "srnet", None)
    if srnet is not None:
        with torch.no_grad():
            srnet.conv_out.weight.zero_()
            srnet.conv_out.bias.zero_()


class HeadMonitor:
    """Fraction of positive activations after SRNet's up-sampling ReLU (0 = dead head, training is stuck)."""

    def __init__(self, model: torch.nn.Module):
        self.value = float("nan")
        srnet = getattr(model, "srnet", None)
        if srnet is not None:
            srnet.conv_up.register_forward_hook(self._hook)

    def _hook(self, _module, _inputs, output: torch.Tensor) -> None:
        self.value = float((output.detach() > 0).float().mean())


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


__all__ = ["Trainer", "autocast_dtype", "pick_device"]
