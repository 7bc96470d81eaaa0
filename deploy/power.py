"""Board power and temperature while a profile runs: NVML on desktop GPUs, jetson-stats (jtop) on Jetson.

Both are optional and imported lazily; without them ``edgevsr profile`` reports
power as unavailable and says which extra to install. Samples are taken by a
background thread (~10 Hz) between :meth:`PowerSampler.start` and ``stop``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class PowerReading:
    source: str
    avg_w: float
    max_w: float
    temp_c: float | None
    samples: int
    updates: int = 0  # distinct readings: the sensor's own refreshes (jtop's service may ignore our interval)
    update_interval_s: float | None = None  # seconds between refreshes actually seen
    asked_interval_s: float | None = None

    @property
    def note(self) -> str | None:
        """What the sampling rate really was, when it was not what was asked (e.g. another jtop client runs)."""
        if self.update_interval_s is None or self.asked_interval_s is None:
            return None
        if self.update_interval_s <= 1.5 * self.asked_interval_s:
            return None
        return (f"{self.source} refreshed every {self.update_interval_s:.2f} s, not the {self.asked_interval_s:.2f} s "
                f"asked ({self.updates} distinct readings in {self.samples} samples; with jtop another client may "
                "have set the service's interval): power is averaged over fewer points")

    def to_dict(self) -> dict:
        return {"source": self.source, "avg_w": round(self.avg_w, 2), "max_w": round(self.max_w, 2),
                "temp_c": self.temp_c, "samples": self.samples, "updates": self.updates,
                "update_interval_s": None if self.update_interval_s is None else round(self.update_interval_s, 3),
                "asked_interval_s": self.asked_interval_s, "note": self.note}


def refresh_stats(times: list[float], watts: list[float]) -> tuple[list[float], float | None]:
    """The distinct readings (a repeated value is the sensor not having refreshed) and their mean spacing (s)."""
    fresh_t, fresh_w = [], []
    for t, w in zip(times, watts):
        if not fresh_w or w != fresh_w[-1]:
            fresh_t.append(t)
            fresh_w.append(w)
    interval = (fresh_t[-1] - fresh_t[0]) / (len(fresh_t) - 1) if len(fresh_t) > 1 else None
    return fresh_w, interval


class _NvmlProbe:
    name = "nvml"

    def __init__(self, index: int):
        import pynvml

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handle = nvml_handle_for_cuda(pynvml, index)
        self.read()  # fails here (NVMLError) when the board has no power sensor

    def read(self) -> tuple[float, float | None]:
        watts = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
        temp = float(self.nvml.nvmlDeviceGetTemperature(self.handle, self.nvml.NVML_TEMPERATURE_GPU))
        return watts, temp

    def close(self) -> None:
        self.nvml.nvmlShutdown()


class _JtopProbe:
    name = "jtop"

    def __init__(self, index: int):
        from jtop import jtop

        self.jetson = jtop(interval=JTOP_INTERVAL_S)  # its default 1 s would starve the 10 Hz sampler
        self.jetson.start()
        self.read()

    def read(self) -> tuple[float, float | None]:
        power = self.jetson.power  # jetson-stats 4.x: {"tot": {"power": mW, ...}, "rail": {...}}
        watts = float(power["tot"]["power"]) / 1000.0
        temps = self.jetson.temperature  # {"gpu": {"temp": C, ...}, ...}
        gpu = temps.get("gpu") or temps.get("GPU")
        temp = float(gpu["temp"] if isinstance(gpu, dict) else gpu) if gpu is not None else None
        return watts, temp

    def close(self) -> None:
        self.jetson.close()


JTOP_INTERVAL_S = 0.1  # jtop refreshes its readings at this interval (default 1.0 s)


def cuda_uuid(index: int) -> str | None:
    """NVML-style UUID (``GPU-xxxxxxxx-...``) of CUDA device ``index`` as PyTorch numbers it, or None."""
    import torch

    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if uuid is None:
        return None
    text = str(uuid)
    return text if text.startswith("GPU-") else f"GPU-{text}"


def nvml_handle_for_cuda(nvml, index: int):
    """The NVML handle of CUDA device ``index``: NVML numbers GPUs in PCI order, CUDA fastest-first unless
    CUDA_DEVICE_ORDER=PCI_BUS_ID, and CUDA_VISIBLE_DEVICES renumbers them, so match by UUID."""
    uuid = cuda_uuid(index)
    if uuid is not None:
        return nvml.nvmlDeviceGetHandleByUUID(uuid)
    return nvml.nvmlDeviceGetHandleByIndex(index)  # no UUID from this torch: hope the orders agree


def open_probe(index: int = 0, jetson: bool = False):
    """A power probe for CUDA device ``index``, or (None, reason) when no sensor library is installed / usable."""
    errors = []
    for probe, extra in ((_JtopProbe, "jetson"), (_NvmlProbe, "nvml")) if jetson else ((_NvmlProbe, "nvml"),):
        try:
            return probe(index), None
        except ImportError:
            errors.append(f"install it with pip install 'edgevsr[{extra}]'")
        except Exception as exc:  # no sensor, no permission, service not running
            errors.append(f"{probe.name}: {str(exc)[:80]}")
    return None, "; ".join(errors)


class PowerSampler:
    """Average / peak board power (W) and last GPU temperature over a timed section."""

    def __init__(self, probe, interval: float = 0.1):
        self.probe, self.interval = probe, interval
        self.watts: list[float] = []
        self.times: list[float] = []
        self.temp: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                w, t = self.probe.read()
                self.watts.append(w)
                self.times.append(time.monotonic())
                self.temp = t if t is not None else self.temp
            except Exception:
                pass
            self._stop.wait(self.interval)

    def start(self) -> PowerSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> PowerReading | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:
            self.probe.close()
        except Exception:
            pass
        if not self.watts:
            return None
        fresh, interval = refresh_stats(self.times, self.watts)
        return PowerReading(self.probe.name, sum(self.watts) / len(self.watts), max(self.watts), self.temp,
                            len(self.watts), len(fresh), interval, self.interval)
