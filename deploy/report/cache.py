"""Measurement cache: one JSON file per measurement, keyed by everything it depends on (resumable sweeps)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class ResultCache:
    """One JSON file per measurement, named by a readable prefix and the hash of its full key."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.hits = self.misses = 0

    def _path(self, kind: str, label: str, key: dict) -> Path:
        safe = "".join(c if c.isalnum() or c in "-." else "_" for c in label)
        return self.root / kind / f"{safe}-{digest(key)}.json"

    def get(self, kind: str, label: str, key: dict) -> dict | None:
        p = self._path(kind, label, key)
        if p.is_file():
            try:
                entry = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                return None  # a torn file from a crash: measure again
            if entry.get("key") == json.loads(json.dumps(key, default=str)):
                self.hits += 1
                return entry["value"]
        return None

    def put(self, kind: str, label: str, key: dict, value: dict) -> None:
        from edgevsr.io.atomic import atomic_path

        p = self._path(kind, label, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.misses += 1
        with atomic_path(p) as tmp:
            tmp.write_text(json.dumps({"key": key, "value": value}, indent=1, default=str))
