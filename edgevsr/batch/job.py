"""The driver of `edgevsr batch`: Ray does the placing, retrying and moving; this keeps the books.

Inputs are probed by Ray tasks, their chunks fed to model actors with at most
``in_flight_per_worker`` chunks queued per actor (backpressure: the object store never holds
more than that many segments per worker), finished segments written and journalled by the
driver, and each input stitched the moment its last chunk lands. A chunk whose actor died
(process killed, node lost) goes back to the front of the queue for the next free actor;
Ray restarts the dead actor. A failing input is recorded and the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgevsr.backends.registry import ONNX_SUFFIXES, RunnerConfig, make_runner
from edgevsr.batch.chunks import Chunk, VideoPlan, plan_chunks
from edgevsr.batch.inputs import WORK_DIR_NAME, BatchInput, check_outputs, collect_inputs
from edgevsr.batch.journal import Journal, digest, file_identity, input_identity
from edgevsr.batch.stitch import stitch
from edgevsr.errors import EdgeVSRError, first_line, require
from edgevsr.io import signals
from edgevsr.io.atomic import commit, discard, make_temp
from edgevsr.scene import DEFAULT_THRESHOLD

# Lead-in frames before a mid-shot chunk, chosen by measurement (docs/batch.md: seam cost vs K).
DEFAULT_LEAD_IN = 8


@dataclass
class BatchOptions:
    out_dir: Path
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    address: str | None = None  # None: start a local Ray; "auto" or "ray://host:port": join a cluster
    workers: int | None = None  # default: one per GPU, else 1
    gpus_per_worker: float = 1.0
    cpus_per_worker: float = 1.0
    chunk_seconds: float = 10.0
    lead_in: int = DEFAULT_LEAD_IN
    scene_cut: float = DEFAULT_THRESHOLD
    crf: int = 18
    resume: bool = False
    max_retries: int = 3
    in_flight_per_worker: int = 2
    start_timeout: float = 300.0  # seconds for every actor to be placed and load its model

    def __post_init__(self) -> None:
        """Every number in range before anything starts (the CLI and run_batch share this)."""
        import edgevsr.checks as checks

        checks.optional_count(self.workers, "--workers")
        checks.positive(self.gpus_per_worker, "--gpus-per-worker")
        checks.positive(self.cpus_per_worker, "--cpus-per-worker")
        checks.positive(self.chunk_seconds, "--chunk-seconds")
        checks.count(self.lead_in, "--lead-in", minimum=0)
        checks.scene_cut(self.scene_cut)
        checks.crf(self.crf)
        checks.count(self.max_retries, "max_retries", minimum=0)
        checks.count(self.in_flight_per_worker, "in_flight_per_worker")
        checks.positive(self.start_timeout, "start_timeout")


@dataclass
class BatchProgress:
    done: int  # frames finished (incl. reused from the journal)
    total: int  # frames of every input probed so far
    fps: float  # frames per second of this run
    eta: float | None
    event: str  # "chunk" | "retry" | "failed" | "written"
    detail: dict


@dataclass
class _Input:
    item: BatchInput
    dst: Path
    key: str = ""
    old_keys: list[str] = field(default_factory=list)  # the same job as keyed by an older edgevsr (resume)
    identity: dict = field(default_factory=dict)
    plan: VideoPlan | None = None
    chunks: list[Chunk] = field(default_factory=list)
    segments: dict[int, tuple[Path, list]] = field(default_factory=dict)
    status: str = "pending"  # pending | ok | skipped | failed
    error: str | None = None
    retries: int = 0
    reused: int = 0
    t0: float | None = None
    seconds: float = 0.0
    streams: dict = field(default_factory=dict)


def _retryable(ray) -> tuple:
    names = ("RayActorError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError", "ObjectLostError",
             "OwnerDiedError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


def _cause(exc: BaseException) -> str:
    """The worker's own one-line reason, not Ray's actor-death dump (an actor that fails in ``__init__`` carries
    our EdgeVSRError only inside the text of its traceback)."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, EdgeVSRError):
        return str(cause)
    ours = re.findall(r"EdgeVSRError: ([^\n]+)", str(exc))
    return ours[-1].strip() if ours else first_line(cause, 300)


class BatchJob:
    def __init__(self, inputs: list[Path | str], opts: BatchOptions,
                 on_progress: Callable[[BatchProgress], None] | None = None):
        self.opts, self.on_progress = opts, on_progress or (lambda p: None)
        items = collect_inputs([Path(p) for p in inputs])
        self.out = check_outputs(items, opts.out_dir)
        self.inputs = [_Input(i, self.out / i.rel) for i in items]
        self.work = self.out / WORK_DIR_NAME
        self.seg_dir = self.work / "segments"
        self.workers: dict[str, dict] = {}
        self.done_frames = self.run_frames = 0
        self.t_start = time.perf_counter()

    # ---------------------------------------------------------------------------------------------
    def _emit(self, event: str, **detail) -> None:
        total = sum(i.plan.frames for i in self.inputs if i.plan and i.status != "failed")
        el = time.perf_counter() - self.t_start
        fps = self.run_frames / el if el > 0 else 0.0
        eta = (total - self.done_frames) / fps if fps > 0 else None
        self.on_progress(BatchProgress(self.done_frames, total, fps, eta, event, detail))

    def _fail(self, inp: _Input, message: str) -> None:
        if inp.status in ("pending",):
            inp.status, inp.error = "failed", message
            inp.seconds = time.perf_counter() - (inp.t0 or self.t_start)
            self._emit("failed", input=str(inp.item.source), error=message)

    def _runner_identities(self) -> list[dict]:
        """The runner's identity, then how an older edgevsr journalled the same runner (resume reuses both):
        before the backend was picked from the file, `--onnx m.onnx` alone was journalled as backend torch."""
        r = self.opts.runner
        ident = {"model": r.model, "weights": file_identity(r.weights), "backend": r.backend,
                 "precision": r.precision, "onnx": file_identity(r.file)}  # key "onnx": older journals resume
        inferred = r.file is not None and ONNX_SUFFIXES.get(r.file.suffix.lower()) == r.backend
        return [ident, {**ident, "backend": "torch"}] if inferred else [ident]

    def _lead_tail(self, spec) -> tuple[int, int]:
        if spec["kind"] == "windowed":
            r = spec["window"] // 2
            return r, r  # exact: a window needs r frames of context each side
        return (self.opts.lead_in, 0) if spec["kind"] == "recurrent" else (0, 0)

    def _chunk_key(self, inp: _Input, c: Chunk) -> str:
        return digest({"input": inp.key, "range": [c.start, c.end, c.lead, c.tail]})

    # ---------------------------------------------------------------------------------------------
    def _prepare(self, journal: Journal) -> None:
        """Identity, output checks and journalled plans for every input (before Ray starts)."""
        runners = self._runner_identities()
        for inp in self.inputs:
            try:
                inp.identity = input_identity(inp.item.source)
            except OSError as exc:
                self._fail(inp, f"{inp.item.source}: cannot read ({exc.strerror})")
                continue
            inp.key, *inp.old_keys = [
                digest({"input": inp.identity, "runner": runner, "crf": self.opts.crf,
                        "chunk_seconds": self.opts.chunk_seconds, "lead_in": self.opts.lead_in,
                        "scene_cut": self.opts.scene_cut, "version": 1}) for runner in runners]
            ours = journal.wrote(inp.dst)
            if ours is not None and self.opts.resume and ours["key"] in (inp.key, *inp.old_keys):
                inp.status = "skipped"  # finished by the interrupted run
                continue
            if inp.dst.exists() and ours is None:
                self._fail(inp, f"{inp.dst}: exists and was not written by edgevsr batch; move it or choose "
                                "another output folder (nothing was overwritten)")
                continue
            plan = journal.plans.get(digest({"input": inp.identity, "scene_cut": self.opts.scene_cut}))
            if plan is not None:
                inp.plan = VideoPlan.from_json(plan["plan"])

    def _make_chunks(self, inp: _Input, spec: dict, journal: Journal, pending: deque) -> None:
        lead, tail = self._lead_tail(spec)
        max_frames = max(1, round(self.opts.chunk_seconds * inp.plan.fps))
        inp.chunks = plan_chunks(self.inputs.index(inp), inp.plan, max_frames, lead, tail)
        if self.opts.resume:  # chunks an older edgevsr journalled under its key: carry on under that key
            for key in inp.old_keys:
                old = [self._chunk_key(replace(inp, key=key), c) for c in inp.chunks]
                if any(journal.done_chunk(k, self.seg_dir / f"{k}.nut") for k in old):
                    inp.key = key
                    break
        for c in inp.chunks:
            seg = self.seg_dir / f"{self._chunk_key(inp, c)}.nut"
            done = journal.done_chunk(self._chunk_key(inp, c), seg) if self.opts.resume else None
            if done is not None:
                inp.segments[c.index] = (seg, done["stamps"])
                inp.reused += 1
                self.done_frames += c.frames
            else:
                pending.append(c)

    def _write_output(self, inp: _Input, journal: Journal) -> None:
        dst = inp.dst
        dst.parent.mkdir(parents=True, exist_ok=True)
        ours = journal.wrote(dst) is not None  # only an output this job wrote (and nobody changed) is replaced
        tmp = make_temp(dst)
        try:
            segs = [inp.segments[c.index] for c in inp.chunks]
            inp.streams = stitch(segs, inp.item.source, inp.plan.time_base, tmp, inp.plan)
            if inp.streams["packets"] != inp.plan.frames:
                raise EdgeVSRError(f"{dst}: stitched {inp.streams['packets']} frames, expected {inp.plan.frames}")
            commit(tmp, dst, overwrite=ours)
        except BaseException:
            discard(tmp)
            raise
        journal.record_output(inp.key, dst)
        for seg, _ in segs:  # segments are ours and now inside the output
            seg.unlink(missing_ok=True)
        inp.status = "ok"
        inp.seconds = time.perf_counter() - (inp.t0 or self.t_start)
        self._emit("written", input=str(inp.item.source), output=str(dst))

    # ---------------------------------------------------------------------------------------------
    def run(self) -> dict:
        made = [p for p in (self.seg_dir, self.work, *self.work.parents) if not p.exists()]  # deepest first
        existed = (self.work / "journal.jsonl").exists()
        self.seg_dir.mkdir(parents=True, exist_ok=True)
        journal = Journal(self.work, self.opts.resume)
        try:
            self._prepare(journal)
            if any(i.status == "pending" for i in self.inputs):
                self._check_model()
                self._run_ray(journal)
        finally:
            journal.close()
            if not existed and not journal.chunks and not journal.outputs:  # nothing to resume: leave no trace
                journal.path.unlink(missing_ok=True)
                for folder in made:
                    with contextlib.suppress(OSError):
                        folder.rmdir()  # only empty folders this run created
        return self.summary()

    def _check_model(self) -> None:
        """Load the model once here, on the CPU, so a bad --weights/--onnx is one line naming the file (a
        worker that fails in Ray reports an actor death). TensorRT engines load on the workers only."""
        cfg = self.opts.runner
        if cfg.backend in ("torch", "onnxruntime"):
            make_runner(replace(cfg, device="cpu", precision=None if cfg.backend == "torch" else cfg.precision))

    def _start_ray(self):
        ray = require("ray", "cluster", "edgevsr batch")
        self.own_ray = not ray.is_initialized()
        if self.own_ray:
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}  # no Ray INFO/WARNING lines
            if self.opts.address:
                try:
                    ray.init(address=self.opts.address, **quiet)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise EdgeVSRError(f"--address {self.opts.address}: cannot join the Ray cluster "
                                       f"({first_line(exc)}); start one with `ray start --head`") from None
            else:
                n = self.opts.workers or 1
                try:  # "local": our own instance, even where a Ray head already runs (or $RAY_ADDRESS is set)
                    ray.init(address="local", num_cpus=max(1, int(n * self.opts.cpus_per_worker)),
                             include_dashboard=False, **quiet)
                except Exception as exc:  # Ray raises a bare Exception when its node does not come up in 30 s
                    raise EdgeVSRError(f"could not start a local Ray ({first_line(exc)}); retry, or start one "
                                       "with `ray start --head` and pass --address auto") from None
            signals.install()  # ray.init takes SIGTERM over; ours unwinds cleanly (one line, exit 143)
        return ray

    def _start_workers(self, ray) -> list:
        from edgevsr.batch.workers import UpscaleWorker

        gpus = ray.cluster_resources().get("GPU", 0)
        n = self.opts.workers or (max(1, int(gpus // self.opts.gpus_per_worker)) if gpus else 1)
        actor = ray.remote(UpscaleWorker).options(
            num_cpus=self.opts.cpus_per_worker, num_gpus=self.opts.gpus_per_worker if gpus else 0,
            max_restarts=-1, max_task_retries=0)
        # a CPU actor's model threads = the CPUs Ray reserved for it (ONNX Runtime would take every core)
        cfg = self.opts.runner
        if cfg.backend in ("torch", "onnxruntime") and cfg.threads is None:
            cfg = cfg.with_options(threads=max(1, int(self.opts.cpus_per_worker)))
        actors = [actor.remote(cfg, f"worker-{k}") for k in range(n)]
        try:
            infos = ray.get([a.info.remote() for a in actors], timeout=self.opts.start_timeout)
        except ray.exceptions.GetTimeoutError:
            raise EdgeVSRError(f"{n} workers could not all be placed within {self.opts.start_timeout:.0f} s; the "
                               f"cluster has {ray.cluster_resources()} (use fewer --workers)") from None
        except ray.exceptions.RayError as exc:
            raise EdgeVSRError(f"a worker could not load the model: {_cause(exc)}") from None
        for info in infos:
            self.workers[info["name"]] = {**info, "frames": 0, "busy_s": 0.0, "chunks": 0, "pids": [info["pid"]]}
        self.spec = {"kind": infos[0]["kind"], "window": infos[0]["window"]}
        return actors

    def _run_ray(self, journal: Journal) -> None:
        from edgevsr.batch.workers import probe

        ray = self._start_ray()
        retryable = _retryable(ray)
        try:
            actors = self._start_workers(ray)
            spec = self.spec
            # Probes take no CPU slot (the actors may hold them all) and are bounded here instead.
            probe_task = ray.remote(probe).options(num_cpus=0)
            probes: deque[_Input] = deque()
            pending: deque[Chunk] = deque()
            inflight: dict = {}  # ObjectRef -> ("probe", input) | ("chunk", actor index, chunk)
            load = [0] * len(actors)
            down: set[int] = set()  # actors Ray is restarting: pinged, fed again once they answer
            for inp in self.inputs:
                if inp.status != "pending":
                    continue
                inp.t0 = time.perf_counter()
                if inp.plan is None:
                    probes.append(inp)
                else:
                    self._make_chunks(inp, spec, journal, pending)
                    self._maybe_finish(inp, journal)
            while pending or inflight or probes:
                while probes and sum(v[0] == "probe" for v in inflight.values()) < max(2, len(actors)):
                    inp = probes.popleft()
                    inflight[probe_task.remote(str(inp.item.source), self.opts.scene_cut)] = ("probe", inp)
                while pending:
                    up = [k for k in range(len(actors)) if k not in down]
                    k = min(up, key=lambda k: load[k]) if up else None
                    if k is None or load[k] >= self.opts.in_flight_per_worker:
                        break
                    c = pending.popleft()
                    inp = self.inputs[c.input_index]
                    if inp.status != "pending":
                        continue
                    ref = actors[k].process.remote(str(inp.item.source), inp.plan.to_json(), c, self.opts.crf)
                    inflight[ref] = ("chunk", k, c)
                    load[k] += 1
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in ready:
                    what = inflight.pop(ref)
                    if what[0] == "probe":
                        self._on_probe(ray, ref, what[1], spec, journal, pending)
                    elif what[0] == "ping":
                        self._on_ping(ray, ref, what[1], actors, down, inflight)
                    else:
                        load[what[1]] -= 1
                        if not self._on_chunk(ray, retryable, ref, what[2], journal, pending) and what[1] not in down:
                            down.add(what[1])
                            inflight[actors[what[1]].info.remote()] = ("ping", what[1])
        finally:
            if self.own_ray:
                ray.shutdown()

    def _on_ping(self, ray, ref, k: int, actors: list, down: set, inflight: dict) -> None:
        try:
            info = ray.get(ref)
        except ray.exceptions.RayError:
            time.sleep(0.5)  # still restarting (or being placed on another node): ask again
            inflight[actors[k].info.remote()] = ("ping", k)
            return
        down.discard(k)
        w = self.workers[info["name"]]
        w["pids"] += [info["pid"]] if info["pid"] not in w["pids"] else []
        w["restarts"] = w.get("restarts", 0) + 1

    def _on_probe(self, ray, ref, inp: _Input, spec, journal: Journal, pending: deque) -> None:
        try:
            plan = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self._fail(inp, _cause(exc))
            return
        journal.record_plan(digest({"input": inp.identity, "scene_cut": self.opts.scene_cut}), plan)
        inp.plan = VideoPlan.from_json(plan)
        self._make_chunks(inp, spec, journal, pending)
        self._emit("probed", input=str(inp.item.source), frames=inp.plan.frames, cuts=len(inp.plan.cuts))
        self._maybe_finish(inp, journal)

    def _on_chunk(self, ray, retryable, ref, c: Chunk, journal: Journal, pending: deque) -> bool:
        """Book a finished chunk; False when its actor died (the chunk is queued again)."""
        inp = self.inputs[c.input_index]
        try:
            res = ray.get(ref)
        except retryable as exc:
            if inp.status == "pending":
                inp.retries += 1
                if inp.retries > self.opts.max_retries * len(inp.chunks):
                    self._fail(inp, f"{inp.item.source}: workers kept dying ({first_line(exc)})")
                else:
                    pending.appendleft(c)  # first in line for the next live actor
                    self._emit("retry", input=str(inp.item.source), chunk=c.index, error=first_line(exc))
            return False
        except ray.exceptions.RayError as exc:
            self._fail(inp, _cause(exc))
            return True
        if inp.status != "pending":
            return True
        key = self._chunk_key(inp, c)
        seg = self.seg_dir / f"{key}.nut"
        tmp = seg.with_name(f".{seg.stem}.partial.nut")
        tmp.write_bytes(res["data"])
        os.replace(tmp, seg)
        journal.record_chunk(key, seg, res["stamps"], {"input": str(inp.item.source), "chunk": c.index,
                                                         "frames": c.frames})
        inp.segments[c.index] = (seg, res["stamps"])
        w = self.workers.setdefault(res["worker"], {"name": res["worker"], "frames": 0, "busy_s": 0.0,
                                                    "chunks": 0, "pids": []})
        w["frames"] += c.frames
        w["busy_s"] += res["seconds"]
        w["chunks"] += 1
        if res["pid"] not in w["pids"]:
            w["pids"].append(res["pid"])
        self.done_frames += c.frames
        self.run_frames += c.frames
        self._emit("chunk", input=str(inp.item.source), chunk=c.index, worker=res["worker"], pid=res["pid"])
        self._maybe_finish(inp, journal)
        return True

    def _maybe_finish(self, inp: _Input, journal: Journal) -> None:
        if inp.status == "pending" and inp.chunks and len(inp.segments) == len(inp.chunks):
            try:
                self._write_output(inp, journal)
            except EdgeVSRError as exc:
                self._fail(inp, str(exc))

    # ---------------------------------------------------------------------------------------------
    def summary(self) -> dict:
        rows = []
        for i in self.inputs:
            frames = i.plan.frames if i.plan else 0
            rows.append({"input": str(i.item.source), "output": str(i.dst), "status": i.status, "error": i.error,
                         "frames": frames if i.status == "ok" else sum(i.chunks[k].frames for k in i.segments),
                         "seconds": round(i.seconds, 3), "fps": round(frames / i.seconds, 3) if i.seconds else 0.0,
                         "retries": i.retries, "chunks": len(i.chunks), "chunks_reused": i.reused,
                         "scene_cuts": len(i.plan.cuts) if i.plan else 0, **i.streams})
        workers = [{**w, "fps": round(w["frames"] / w["busy_s"], 3) if w["busy_s"] else 0.0}
                   for w in self.workers.values()]
        el = time.perf_counter() - self.t_start
        return {"inputs": rows, "workers": workers, "frames": self.run_frames, "seconds": round(el, 3),
                "fps": round(self.run_frames / el, 3) if el else 0.0,
                "failed": sum(r["status"] == "failed" for r in rows), "options": _options_json(self.opts)}


def _options_json(opts: BatchOptions) -> dict:
    d = asdict(opts)
    d["out_dir"] = str(opts.out_dir)
    d["runner"] = opts.runner.to_dict()
    return d


def run_batch(inputs: list[Path | str], out_dir: Path | str, runner: RunnerConfig | None = None,
              on_progress: Callable[[BatchProgress], None] | None = None, **options) -> dict:
    """Upscale every video in ``inputs`` (files, folders, manifests) into ``out_dir`` on Ray; returns the summary.

    ``options`` are :class:`BatchOptions` fields (address, workers, chunk_seconds, lead_in, resume, ...).
    Inputs that fail are listed in the summary with the reason; the others are still written.
    """
    opts = BatchOptions(out_dir=Path(out_dir), runner=runner or RunnerConfig(), **options)
    return BatchJob(inputs, opts, on_progress).run()
