"""Engine provenance: sidecar round trip, load-time compatibility errors, cache keys and the engine cache."""

from __future__ import annotations

import dataclasses

import pytest

from edgevsr.backends.tensorrt.engine_record import (
    DEFAULT_PROFILE,
    EngineRecord,
    RuntimeEnv,
    check_compatible,
    mismatches,
    read_record,
    sidecar_path,
)
from edgevsr.deploy.provenance import KEY_FIELDS, EngineCache, cache_key, is_current, timing_cache_path, write_engine
from edgevsr.errors import EdgeVSRError
from edgevsr.models.spec import ModelSpec

ENV = RuntimeEnv("10.3.0", "NVIDIA GeForce RTX 3080", "8.6")


def record(**changes) -> EngineRecord:
    base = EngineRecord(trt_version=ENV.trt_version, gpu_name=ENV.gpu_name, compute_capability=ENV.compute_capability,
                        precision="fp16", path="implicit", profile=DEFAULT_PROFILE.to_dict(), onnx_sha256="ab" * 32,
                        spec=ModelSpec("egvsr", "recurrent").to_dict(),
                        flags={"builder": ["FP16"], "workspace_mib": 4096},
                        rebuild="edgevsr build egvsr.onnx -o egvsr.engine --precision fp16")
    return dataclasses.replace(base, **changes)


def test_sidecar_round_trip(tmp_path):
    engine = write_engine(b"not-a-real-plan", tmp_path / "m.engine", record(build_seconds=12.5))
    assert sidecar_path(engine).name == "m.engine.json"
    back = read_record(engine)
    assert back == record(build_seconds=12.5, cache_key=cache_key(record()))
    assert back.model_spec.input_names == ("lr_curr", "lr_prev", "hr_prev")
    assert back.shape_profile == DEFAULT_PROFILE


def test_compatible_engine_passes():
    check_compatible(record(), ENV, "m.engine")
    assert mismatches(record(), ENV) == []


@pytest.mark.parametrize("field, value, words", [
    ("trt_version", "10.0.1", "TensorRT 10.3.0 vs 10.0.1"),
    ("compute_capability", "8.7", "compute capability 8.6 vs 8.7"),
    ("gpu_name", "Orin", "GPU 'NVIDIA GeForce RTX 3080' vs 'Orin'"),
])
def test_foreign_engine_refused_with_rebuild_command(field, value, words):
    here = dataclasses.replace(ENV, **{field: value})
    with pytest.raises(EdgeVSRError) as exc:
        check_compatible(record(), here, "m.engine")
    msg = str(exc.value)
    assert msg.startswith("m.engine: ") and words in msg
    assert "edgevsr build egvsr.onnx -o egvsr.engine --precision fp16" in msg


def test_orin_modules_with_one_name_are_told_apart_by_sms_and_memory():
    """Every Orin module reports "Orin" and sm 8.7: an AGX Orin 64 GB engine must not load on a 32 GB one."""
    agx64 = RuntimeEnv("10.3.0", "Orin", "8.7", sm_count=16, memory_gib=61)
    agx32 = RuntimeEnv("10.3.0", "Orin", "8.7", sm_count=14, memory_gib=30)
    built = record(gpu_name="Orin", compute_capability="8.7", sm_count=16, memory_gib=61)
    check_compatible(built, agx64, "m.engine")
    with pytest.raises(EdgeVSRError, match="16 SMs vs 14 here; 61 GiB vs 30 here"):
        check_compatible(built, agx32, "m.engine")
    assert cache_key(built) != cache_key(dataclasses.replace(built, sm_count=14, memory_gib=30))
    assert timing_cache_path(agx64) != timing_cache_path(agx32)
    old = record(gpu_name="Orin", compute_capability="8.7")  # a sidecar from before: SMs unknown
    with pytest.raises(EdgeVSRError, match="SMs not recorded"):
        check_compatible(old, agx64, "m.engine")


def test_engine_without_sidecar_is_refused(tmp_path):
    engine = tmp_path / "m.engine"
    with pytest.raises(EdgeVSRError, match="engine file not found"):
        read_record(engine)
    engine.write_bytes(b"plan")
    with pytest.raises(EdgeVSRError, match="no provenance sidecar"):
        read_record(engine)
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(EdgeVSRError, match="unreadable provenance sidecar"):
        read_record(engine)


def test_cache_key_covers_every_field_that_changes_an_engine():
    base = cache_key(record())
    assert base == cache_key(record())
    assert cache_key(record(build_seconds=99.0, built_at="2030-01-01", rebuild="x")) == base
    changes = {"trt_version": "10.4.0", "gpu_name": "Orin", "compute_capability": "8.7", "sm_count": 14,
               "memory_gib": 32, "precision": "int8",
               "path": "explicit", "profile": {"min": [480, 272], "opt": [480, 272], "max": [480, 272]},
               "onnx_sha256": "cd" * 32, "flags": {"builder": ["FP16"], "workspace_mib": 2048}}
    assert set(changes) == set(KEY_FIELDS)
    keys = {cache_key(record(**{k: v})) for k, v in changes.items()}
    assert len(keys) == len(changes) and base not in keys


def test_engine_cache_reuses_only_identical_builds(tmp_path):
    cache = EngineCache(tmp_path / "engines")
    want = record()
    assert cache.lookup(want) is None
    path = cache.path_for(want)
    assert path.name.startswith("egvsr-fp16-") and path.suffix == ".engine"
    path.parent.mkdir(parents=True)
    write_engine(b"plan", path, want)
    assert cache.lookup(record()) == path and is_current(path, record())
    assert cache.lookup(record(onnx_sha256="ff" * 32)) is None  # the ONNX changed: rebuild
    assert [r.cache_key for r in cache.entries()] == [cache_key(want)]
    assert cache.stale(ENV) == []
    assert cache.stale(dataclasses.replace(ENV, trt_version="11.0.0")) == [path]


def test_timing_cache_is_per_gpu_and_version(tmp_path):
    a = timing_cache_path(ENV, tmp_path)
    b = timing_cache_path(dataclasses.replace(ENV, trt_version="10.4.0"), tmp_path)
    assert a != b and a.parent == tmp_path / "timing" and " " not in a.name
