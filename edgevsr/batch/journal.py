"""The job journal: which chunks are done, under a key that changes when anything they depend on does.

One JSON line per event, appended and fsynced by the driver only (workers never write under
OUT_DIR). A chunk's key hashes the input's identity (path, size, mtime, head and tail bytes),
the model and weights (file contents), the encoder settings and the chunk's frame range, so
`--resume` reuses a segment only when redoing it would give the same bytes; a segment file is
reused only if its size and SHA-256 match what the journal recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from edgevsr.errors import EdgeVSRError

SAMPLE = 1 << 20


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(SAMPLE), b""):
            h.update(block)
    return h.hexdigest()


def input_identity(path: Path) -> dict:
    """Cheap but strict identity of an input: a changed or replaced file gets a new one."""
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(SAMPLE))
        if st.st_size > SAMPLE:
            f.seek(max(SAMPLE, st.st_size - SAMPLE))
            h.update(f.read(SAMPLE))
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample": h.hexdigest()}


def file_identity(value) -> object:
    """Weights / ONNX / engine options: a file's content hash, else the name itself."""
    if value is None:
        return None
    p = Path(value)
    return {"file": str(p), "sha256": file_sha256(p)} if p.is_file() else str(value)


class Journal:
    def __init__(self, work_dir: Path, resume: bool):
        self.path = work_dir / "journal.jsonl"
        self.chunks: dict[str, dict] = {}
        self.plans: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        if self.path.exists():
            self._load()
            if not resume:  # a fresh job redoes every chunk but remembers which outputs are ours
                self.chunks.clear()
                self.plans.clear()
                tmp = self.path.with_name(".journal.partial.jsonl")
                tmp.write_text("".join(json.dumps(e) + "\n" for e in self.outputs.values()))
                os.replace(tmp, self.path)
        self._fh = open(self.path, "a")  # kept open for the job's life

    def _load(self) -> None:
        lines = self.path.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines):
                    break  # a line cut short when the driver was killed
                raise EdgeVSRError(f"{self.path}:{n}: journal is damaged; rerun without --resume") from None
            {"chunk": self.chunks, "plan": self.plans, "output": self.outputs}[e["type"]][e["key"]] = e

    def _append(self, entry: dict) -> None:
        self._fh.write(json.dumps(entry) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def done_chunk(self, key: str, segment: Path) -> dict | None:
        e = self.chunks.get(key)
        if e is None or not segment.is_file() or segment.stat().st_size != e["size"]:
            return None
        return e if file_sha256(segment) == e["sha256"] else None

    def record_chunk(self, key: str, segment: Path, stamps: list, extra: dict) -> None:
        e = {"type": "chunk", "key": key, "size": segment.stat().st_size, "sha256": file_sha256(segment),
             "stamps": stamps, **extra}
        self.chunks[key] = e
        self._append(e)

    def record_plan(self, key: str, plan: dict) -> None:
        self.plans[key] = {"type": "plan", "key": key, "plan": plan}
        self._append(self.plans[key])

    def record_output(self, key: str, output: Path) -> None:
        st = output.stat()
        self.outputs[key] = {"type": "output", "key": key, "path": str(output), "size": st.st_size,
                             "mtime_ns": st.st_mtime_ns}
        self._append(self.outputs[key])

    def wrote(self, output: Path) -> dict | None:
        """The journal entry if ``output`` is a file this job wrote and nobody changed since."""
        if not output.is_file():
            return None
        st = output.stat()
        for e in self.outputs.values():
            if e["path"] == str(output) and e["size"] == st.st_size and e["mtime_ns"] == st.st_mtime_ns:
                return e
        return None

    def close(self) -> None:
        self._fh.close()
