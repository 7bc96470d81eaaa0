"""Source and sink URIs in the style of jetson-inference: ``csi://0``, ``v4l2:///dev/video0``, ``display://0``.

A URI names *where* frames come from or go to; options ride in the query
string (``test://?width=320&height=180&fps=30``) and CLI flags override them.
Parsing is pure (no device is touched) so it is checked up front, before any
model is loaded, and every mistake is one :class:`EdgeVSRError` line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from edgevsr.errors import EdgeVSRError

SOURCE_SCHEMES = ("v4l2", "csi", "rtsp", "file", "test")
SINK_SCHEMES = ("display", "file", "rtp", "rtsp", "null")

# option -> converter; the same names as the `edgevsr run` flags
_BOOL_TRUE = {"1", "true", "yes", "on", ""}
_BOOL_FALSE = {"0", "false", "no", "off"}
FLIPS = ("none", "horizontal", "vertical", "rotate-180")
SOURCE_OPTIONS = {"width": int, "height": int, "fps": float, "loop": int, "flip": str, "realtime": bool,
                  "frames": int, "cuts": int, "latency": int, "format": str}
SINK_OPTIONS = {"codec": str, "bitrate": int, "crf": int, "headless": bool, "backend": str, "fps": float,
                "sink": str}


def _to_bool(key: str, value: str, text: str) -> bool:
    v = value.strip().lower()
    if v in _BOOL_TRUE:
        return True
    if v in _BOOL_FALSE:
        return False
    raise EdgeVSRError(f"{text}: option {key}={value!r} is not a yes/no value (use 1 or 0)")


@dataclass(frozen=True)
class MediaURI:
    """A parsed source or sink: ``scheme`` plus ``location`` (path, device, host:port/path) and options."""

    text: str
    role: str  # "source" | "sink"
    scheme: str
    location: str
    options: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.options.get(key, default)

    def with_options(self, **overrides) -> MediaURI:
        """The same URI with the given options replaced (None values are ignored: CLI flags not given)."""
        allowed = SOURCE_OPTIONS if self.role == "source" else SINK_OPTIONS
        opts = dict(self.options)
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in allowed:
                raise EdgeVSRError(f"{self.text}: option {key!r} does not apply to a {self.role}")
            opts[key] = value
        _check_values(self.text, opts)
        return replace(self, options=opts)

    @property
    def path(self) -> Path:
        return Path(self.location)

    def __str__(self) -> str:
        return self.text


def _check_values(text: str, opts: dict) -> None:
    for key in ("width", "height", "frames", "bitrate", "latency"):
        if key in opts and opts[key] <= 0:
            raise EdgeVSRError(f"{text}: {key} must be positive, got {opts[key]}")
    if "fps" in opts and not opts["fps"] > 0:
        raise EdgeVSRError(f"{text}: fps must be positive, got {opts['fps']}")
    if "loop" in opts and opts["loop"] < -1:
        raise EdgeVSRError(f"{text}: loop is a repeat count (-1 = forever), got {opts['loop']}")
    if "cuts" in opts and opts["cuts"] < 0:
        raise EdgeVSRError(f"{text}: cuts (frames per scene) must be >= 0, got {opts['cuts']}")
    if "flip" in opts and opts["flip"] not in FLIPS:
        raise EdgeVSRError(f"{text}: flip must be one of {', '.join(FLIPS)}, got {opts['flip']!r}")


def _parse_options(text: str, query: str, allowed: dict) -> dict:
    opts = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in allowed:
            raise EdgeVSRError(f"{text}: unknown option {key!r}; known: {', '.join(allowed)}")
        conv = allowed[key]
        if conv is bool:
            opts[key] = _to_bool(key, value, text)
            continue
        try:
            opts[key] = conv(value)
        except ValueError:
            raise EdgeVSRError(f"{text}: option {key}={value!r} is not a {conv.__name__}") from None
    _check_values(text, opts)
    return opts


def parse_uri(text: str, role: str) -> MediaURI:
    """Parse a source (``role="source"``) or sink (``role="sink"``) URI; a bare path means ``file://``."""
    if role not in ("source", "sink"):
        raise ValueError(role)
    text = str(text).strip()
    if not text:
        raise EdgeVSRError(f"empty {role} URI")
    schemes = SOURCE_SCHEMES if role == "source" else SINK_SCHEMES
    allowed = SOURCE_OPTIONS if role == "source" else SINK_OPTIONS
    if "://" not in text:
        # a bare path: /dev/videoN is a camera, anything else a file or frame folder
        path, _, query = text.partition("?")
        scheme = "v4l2" if role == "source" and path.startswith("/dev/video") else "file"
        return MediaURI(text, role, scheme, path, _parse_options(text, query, allowed))
    scheme = text.split("://", 1)[0].lower()
    if scheme not in schemes:
        raise EdgeVSRError(f"{text}: unknown {role} scheme {scheme + '://'!r}; use one of "
                           + ", ".join(s + "://" for s in schemes))
    parts = urlsplit(text)
    query = parts.query
    if scheme in ("rtsp", "rtp"):
        if not parts.hostname:
            raise EdgeVSRError(f"{text}: {scheme}:// needs a host, e.g. {scheme}://192.168.1.2:8554/live")
        if scheme == "rtp" and not parts.port:
            raise EdgeVSRError(f"{text}: rtp:// needs a port, e.g. rtp://192.168.1.2:5000")
        location = text.split("?", 1)[0] if scheme == "rtsp" else f"{parts.hostname}:{parts.port}"
    elif scheme == "file":
        location = (parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else parts.path
        if not location:
            raise EdgeVSRError(f"{text}: file:// needs a path, e.g. file://clip.mp4")
    elif scheme == "v4l2":
        location = parts.path or ("/dev/" + parts.netloc if parts.netloc else "")
        if not location.startswith("/dev/"):
            raise EdgeVSRError(f"{text}: v4l2:// needs a device path, e.g. v4l2:///dev/video0")
    elif scheme in ("csi", "display"):
        location = parts.netloc or "0"
        if not location.isdigit():
            raise EdgeVSRError(f"{text}: {scheme}:// takes a number, e.g. {scheme}://0")
    else:  # test://, null://
        location = parts.netloc + parts.path
    return MediaURI(text, role, scheme, location, _parse_options(text, query, allowed))
