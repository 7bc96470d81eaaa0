"""Provenance: of engines (the sidecar, the engine cache keyed by it) and of the machine that measured.

The record format and the load-time check live with the runner
(:mod:`edgevsr.backends.tensorrt.engine_record`); this module writes records and finds
cached engines: the cache key hashes everything that makes two engines
different (TensorRT version, GPU and compute capability, precision, build path,
shape profile, source ONNX hash, build flags), so a repeated ``edgevsr build``
or ``profile`` reuses the engine instead of spending minutes rebuilding it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from edgevsr.backends.tensorrt.engine_record import EngineRecord, RuntimeEnv, mismatches, read_record, sidecar_path
from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path

KEY_FIELDS = ("trt_version", "gpu_name", "compute_capability", "sm_count", "memory_gib", "precision", "path",
              "profile", "onnx_sha256", "flags")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(record: EngineRecord) -> str:
    """SHA-256 (hex, 20 chars) of the fields that decide what an engine is; build time etc. excluded."""
    fields = {k: getattr(record, k) for k in KEY_FIELDS}
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def write_engine(engine_bytes: bytes, path: str | Path, record: EngineRecord) -> Path:
    """Write the engine and its sidecar atomically (sidecar last: an engine without one is never trusted)."""
    path = Path(path)
    record.cache_key = cache_key(record)
    with atomic_path(path) as tmp:
        tmp.write_bytes(engine_bytes)
    with atomic_path(sidecar_path(path)) as tmp:
        tmp.write_text(record.to_json())
    return path


def is_current(engine: str | Path, wanted: EngineRecord) -> bool:
    """True when ``engine`` exists with a sidecar whose cache key matches ``wanted`` (so no rebuild)."""
    try:
        have = read_record(engine)
    except EdgeVSRError:
        return False
    return have.cache_key == cache_key(wanted)


def default_cache_dir() -> Path:
    """``$EDGEVSR_CACHE`` or ``~/.cache/edgevsr`` (engines/ and timing caches live under it)."""
    root = os.environ.get("EDGEVSR_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edgevsr")
    return Path(root)


class EngineCache:
    """A folder of ``<model>-<precision>-<key>.engine`` files with their sidecars."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir() / "engines"

    def path_for(self, record: EngineRecord) -> Path:
        name = record.spec.get("name", "model")
        return self.root / f"{name}-{record.precision}-{cache_key(record)}.engine"

    def lookup(self, record: EngineRecord) -> Path | None:
        path = self.path_for(record)
        return path if is_current(path, record) else None

    def entries(self) -> list[EngineRecord]:
        out = []
        for engine in sorted(self.root.glob("*.engine")):
            try:
                out.append(read_record(engine))
            except EdgeVSRError:
                continue
        return out

    def stale(self, env: RuntimeEnv) -> list[Path]:
        """Cached engines this machine cannot run (another GPU / TensorRT version)."""
        return [self.root / f"{r.spec.get('name', 'model')}-{r.precision}-{r.cache_key}.engine"
                for r in self.entries() if mismatches(r, env)]


def timing_cache_path(env: RuntimeEnv, root: Path | None = None) -> Path:
    """One timing cache per GPU + TensorRT version, shared by every build on this machine."""
    root = root if root is not None else default_cache_dir()
    gpu = f"{env.gpu_name}-sm{env.compute_capability}-{env.sm_count}sms-{env.memory_gib}gib"
    tag = "".join(c if c.isalnum() else "-" for c in f"{gpu}-trt{env.trt_version}")
    return root / "timing" / f"{tag}.cache"


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
    from edgevsr.deploy.profile import environment
    from edgevsr.jetson import jetson_model

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
