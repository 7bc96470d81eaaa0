"""TensorRT implicit-INT8 calibration cache (TensorRT <= 10, e.g. JetPack 6), from our own calibration.

TensorRT 10.1 deprecated the implicit calibrators and TensorRT 11 removed them,
but JetPack 6 stays on TensorRT 10.x: Jetson users build INT8 engines from the
FP32 ONNX plus a cache file (``trtexec --int8 --calib=FILE``). The format, as
TensorRT's ``IInt8EntropyCalibrator2::writeCalibrationCache`` produces it::

    TRT-8601-EntropyCalibration2
    lr_curr: 3c010a14
    conv2d: 3d237c3a

a header naming the TensorRT version (8.6.1 -> ``8601``; 10.3.0 -> ``100300``)
and the algorithm, then one line per tensor: its ONNX name and its scale
(``amax / 127``) as the 8 hex digits of the big-endian IEEE float32.
"""

from __future__ import annotations

import struct
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path

ALGORITHM = "EntropyCalibration2"


def version_tag(version: str) -> str:
    """``"10.3.0"`` -> ``"100300"``; ``"8.6.1"`` -> ``"8601"`` (TensorRT's NV_TENSORRT_VERSION)."""
    try:
        major, minor, patch = (int(p) for p in (version.split(".") + ["0", "0"])[:3])
    except ValueError:
        raise EdgeVSRError(f"--trt-version {version!r}: expected MAJOR.MINOR.PATCH, e.g. 10.3.0") from None
    if major > 10:
        raise EdgeVSRError(f"--trt-version {version}: TensorRT {major} has no implicit INT8 calibration; "
                           "use the Q/DQ ONNX instead")
    return str(major * 10000 + minor * 100 + patch) if major >= 10 else str(major * 1000 + minor * 100 + patch)


def scale_hex(scale: float) -> str:
    return struct.pack(">f", scale).hex()


def cache_text(amax: dict[str, float], version: str = "10.3.0") -> str:
    lines = [f"TRT-{version_tag(version)}-{ALGORITHM}"]
    for name, a in amax.items():
        if a > 0:  # an all-zero tensor has no scale; TensorRT then leaves it out of INT8
            lines.append(f"{name}: {scale_hex(float(a) / 127.0)}")
    return "\n".join(lines) + "\n"


def decisions_path(cache: str | Path) -> Path:
    """The JSON beside a cache with the quantizer's float decisions (``calib.cache`` -> ``calib.cache.json``)."""
    cache = Path(cache)
    return cache.with_name(cache.name + ".json")


def write_cache(path: str | Path, amax: dict[str, float], version: str = "10.3.0",
                float_nodes: list[str] | None = None) -> Path:
    """Write the cache atomically; ``amax`` maps ONNX tensor names to their symmetric range.

    ``float_nodes`` (the weighted ONNX nodes the quantizer kept in float) go to
    :func:`decisions_path`, which ``edgevsr build`` reads to pin those layers to FP32.
    """
    import json

    text = cache_text(amax, version)
    path = Path(path)
    if float_nodes is not None:
        with atomic_path(decisions_path(path)) as tmp:
            tmp.write_text(json.dumps({"trt_version": version, "float_nodes": list(float_nodes)}, indent=1))
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def read_decisions(cache: str | Path) -> list[str] | None:
    """The float nodes recorded beside ``cache`` (None when no decisions file is there)."""
    import json

    side = decisions_path(cache)
    if not side.is_file():
        return None
    try:
        nodes = json.loads(side.read_text())["float_nodes"]
        return [str(n) for n in nodes]
    except (ValueError, KeyError, TypeError):
        raise EdgeVSRError(f"{side}: not an edgevsr float-decisions file (JSON with a float_nodes list)") from None


def header_version(header: str) -> tuple[int, int, int] | None:
    """``TRT-100300-EntropyCalibration2`` -> (10, 3, 0); ``TRT-8601-...`` -> (8, 6, 1)."""
    import re

    m = re.match(r"TRT-(\d+)-", header)
    if not m:
        return None
    n = int(m.group(1))
    return (n // 10000, n // 100 % 100, n % 100) if n >= 10000 else (n // 1000, n // 100 % 10, n % 100)


def check_cache_version(path: str | Path, trt_version: str) -> None:
    """Refuse a cache written for another TensorRT version (major.minor.patch as far as ``trt_version``
    gives it): TensorRT skips such a cache, and the replay calibrator, which has no data, then leaves every
    layer without a scale."""
    header = Path(path).read_text(errors="replace").split("\n", 1)[0].strip()
    have = header_version(header)
    want = tuple(int(p) for p in (str(trt_version).split(".") + ["0", "0"])[:3] if p.isdigit())
    if have is None:
        raise EdgeVSRError(f"{path}: header {header[:60]!r} is not TRT-<version>-<algorithm>")
    if have[: len(want)] != want:  # TensorRT compares the whole tag it writes (NV_TENSORRT_VERSION)
        raise EdgeVSRError(f"{path}: calibration cache is for TensorRT {have[0]}.{have[1]}.{have[2]}, this is "
                           f"{trt_version}; rewrite it with `edgevsr quantize ... --trt-cache {path} "
                           f"--trt-version {trt_version}`")


def read_cache(path: str | Path) -> tuple[str, dict[str, float]]:
    """(header, {tensor: scale}) of a cache file; for tests and for inspecting caches from TensorRT."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or not lines[0].startswith("TRT-"):
        raise EdgeVSRError(f"{path}: not a TensorRT calibration cache (no TRT-<version>-<algorithm> header)")
    scales = {}
    for ln in lines[1:]:
        name, _, value = ln.rpartition(": ")
        try:
            scales[name] = struct.unpack(">f", bytes.fromhex(value))[0]
        except ValueError:
            raise EdgeVSRError(f"{path}: bad cache line {ln[:80]!r}") from None
    return lines[0], scales
