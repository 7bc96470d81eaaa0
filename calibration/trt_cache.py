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


def write_cache(path: str | Path, amax: dict[str, float], version: str = "10.3.0") -> Path:
    """Write the cache atomically; ``amax`` maps ONNX tensor names to their symmetric range."""
    text = cache_text(amax, version)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


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
