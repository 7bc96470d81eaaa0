"""Peak throughput of the devices edgevsr targets, for the "% of roofline" figure of `edgevsr profile`.

GPU figures are the vendors' published *dense* peaks (no structured sparsity) at
the boost clock: FP32 CUDA-core TFLOPS, FP16 tensor-core TFLOPS **with FP32
accumulate** (what TensorRT and PyTorch use for convolutions; GeForce cards run
it at half their FP16-accumulate rate), INT8 tensor-core TOPS, memory bandwidth
in GB/s, from the NVIDIA Jetson module data sheets and the Turing / Ampere / Ada /
Hopper white papers. Jetson figures are for the GPU only (DLA excluded) at the
maximum clock, as the data sheet gives them.

The CPU ceiling is computed, not looked up (:func:`cpu_ceiling`): FMA units x
FP32 vector lanes x 2 FLOP x clock x cores in use, with each factor and where it
came from in the source text. :func:`measure_cpu_peak` (the best rate of an FP32
matrix product in PyTorch) is what the machine achieves on the friendliest
kernel; it is reported beside the ceiling, never as the peak.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from edgevsr.jetson import jetson_model


@dataclass(frozen=True)
class DevicePeak:
    name: str
    fp32_tflops: float
    fp16_tflops: float | None
    int8_tops: float | None
    bandwidth_gbs: float | None
    source: str

    def for_precision(self, precision: str) -> float | None:
        """Peak in GFLOP/s (GOP/s for INT8) for a precision; None when the device has no such path."""
        value = {"fp32": self.fp32_tflops, "fp16": self.fp16_tflops, "int8": self.int8_tops}.get(precision)
        return None if value is None else value * 1000.0

    def to_dict(self) -> dict:
        return asdict(self)


_DS = "NVIDIA data sheet"
_WP = "NVIDIA architecture white paper"
# Matched against the GPU / Jetson model name, most specific first.
PEAKS: list[tuple[str, DevicePeak]] = [
    ("agx orin", DevicePeak("Jetson AGX Orin 64GB", 5.3, 42.5, 85.0, 204.8, _DS)),
    ("orin nx", DevicePeak("Jetson Orin NX 16GB", 1.88, 15.0, 30.0, 102.4, _DS)),
    ("orin nano", DevicePeak("Jetson Orin Nano 8GB", 1.28, 10.0, 20.0, 68.0, _DS)),
    ("agx xavier", DevicePeak("Jetson AGX Xavier", 1.41, 11.0, 22.0, 136.5, _DS)),
    ("xavier nx", DevicePeak("Jetson Xavier NX", 0.845, 6.0, 12.0, 59.7, _DS)),
    ("jetson nano", DevicePeak("Jetson Nano", 0.236, 0.472, None, 25.6, _DS)),
    # GeForce: FP16 tensor TFLOPS with FP32 accumulate = half the FP16-accumulate figure of the white paper
    ("rtx 2080 ti", DevicePeak("GeForce RTX 2080 Ti", 13.4, 53.8, 215.2, 616.0, _WP)),
    ("rtx 3060", DevicePeak("GeForce RTX 3060", 12.7, 25.6, 102.4, 360.0, _WP)),
    ("rtx 3080", DevicePeak("GeForce RTX 3080", 29.8, 59.5, 238.0, 760.0, _WP)),
    ("rtx 3090", DevicePeak("GeForce RTX 3090", 35.6, 71.0, 284.0, 936.0, _WP)),
    ("rtx 4080", DevicePeak("GeForce RTX 4080", 48.7, 97.5, 389.9, 716.8, _WP)),
    ("rtx 4090", DevicePeak("GeForce RTX 4090", 82.6, 165.2, 660.6, 1008.0, _WP)),
    ("a100", DevicePeak("A100", 19.5, 312.0, 624.0, 1555.0, _WP)),
    ("h100 pcie", DevicePeak("H100 PCIe", 51.0, 756.0, 1513.0, 2000.0, _DS)),
    ("h100", DevicePeak("H100 SXM", 67.0, 989.0, 1979.0, 3350.0, _DS)),
    ("h200", DevicePeak("H200", 67.0, 989.0, 1979.0, 4800.0, _DS)),
]


def lookup_peak(device_name: str) -> DevicePeak | None:
    """Table entry whose key occurs in ``device_name`` (case-insensitive), or None."""
    low = device_name.lower()
    for key, peak in PEAKS:
        if key in low:
            return peak
    return None


def gpu_peak(index: int | None = None) -> tuple[str, DevicePeak | None]:
    """(device name, table peak) of a CUDA device (default: the current one); on Jetson the module name decides."""
    import torch

    if index is None:
        index = torch.cuda.current_device()
    name = jetson_model() or torch.cuda.get_device_name(index)
    return name, lookup_peak(name)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_cpu_peak(threads: int | None = None, n: int = 1024, repeats: int = 5) -> DevicePeak:
    """Achievable FP32 GFLOP/s of this CPU: best of ``repeats`` n x n matrix products (torch, ``threads``)."""
    import torch

    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        a, b = torch.rand(n, n), torch.rand(n, n)
        torch.mm(a, b)  # warm-up (allocations, BLAS thread pool)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(old)
    tflops = 2.0 * n**3 / best / 1e12
    return DevicePeak(f"{cpu_name()} ({used} threads)", round(tflops, 4), None, None, None,
                      f"measured: best of {repeats} torch.mm {n}x{n} FP32 on {used} threads")


def _cpu_flags() -> tuple[str, set[str]]:
    vendor, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("vendor_id") and not vendor:
                vendor = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return vendor, flags


def _cpu_clock_ghz() -> tuple[float | None, str]:
    """Max clock from cpufreq, else the clock /proc/cpuinfo reports (VMs: often the nominal one)."""
    try:
        khz = int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text())
        return khz / 1e6, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return (float(line.split(":", 1)[1]) / 1000.0,
                        "/proc/cpuinfo 'cpu MHz', nominal: no cpufreq here, boost unknown, so a low ceiling")
    except (OSError, ValueError):
        pass
    return None, "unknown"


def cpu_ceiling(threads: int | None = None) -> DevicePeak:
    """The FP32 ceiling of the cores in use: FMA units x vector lanes x 2 FLOP x clock x cores.

    Lanes come from the widest FMA ISA the CPU reports (AVX-512: 16, AVX2+FMA: 8,
    NEON/ASIMD: 4, else 4). AMD Zen 4 reports AVX-512 but executes it on 256-bit
    pipes, so it counts 8. Two FMA units per core is assumed (Haswell+, Zen 2+,
    Neoverse/Cortex-A78); the source text says so. ``threads`` None: torch's threads.
    """
    import os

    import torch

    vendor, flags = _cpu_flags()
    if "avx512f" in flags and not (vendor == "AuthenticAMD" and "avx512_vp2intersect" not in flags):
        lanes, isa = 16, "AVX-512"
    elif "avx512f" in flags:
        lanes, isa = 8, "AVX-512 on 256-bit pipes (Zen 4)"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 8, "AVX2+FMA"
    elif "asimd" in flags or platform.machine() in ("aarch64", "arm64"):
        lanes, isa = 4, "NEON"
    else:
        lanes, isa = 4, "SSE (no FMA flag seen)"
    fma_units = 2
    ghz, clock_src = _cpu_clock_ghz()
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = min(threads or torch.get_num_threads(), available)
    if ghz is None:
        return DevicePeak(f"{cpu_name()} ({cores} cores)", 0.0, None, None, None, "CPU clock unknown: no ceiling")
    gflops = fma_units * lanes * 2 * ghz * cores
    source = (f"ceiling: {fma_units} FMA units (assumed) x {lanes} FP32 lanes ({isa}) x 2 FLOP x {ghz:.2f} GHz "
              f"({clock_src}) x {cores} cores in use = {gflops:.0f} GFLOP/s")
    return DevicePeak(f"{cpu_name()} ({cores} cores)", round(gflops / 1000.0, 4), None, None, None, source)
