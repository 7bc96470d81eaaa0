"""Which Jetson module this is: core, because the TensorRT runner (engine identity) and the edge encoders need it
as much as the deploy stage does."""

from __future__ import annotations

from pathlib import Path


def jetson_model() -> str | None:
    """The Jetson module name from the device tree (``NVIDIA Jetson AGX Orin Developer Kit``), else None."""
    path = Path("/proc/device-tree/model")
    try:
        text = path.read_bytes().decode("ascii", "replace").strip("\x00 \n")
    except OSError:
        return None
    return text if "jetson" in text.lower() else None
