"""The ``edgevsr eval --json`` file: what it holds, how it is written, and how a result is read back.

``{"edgevsr_eval": 1, "options": ..., "gt": ..., "mode": "outputs" | "model" | "gate", <what was scored>,
"results": {label: DatasetScores.to_dict()}}``; a gate adds ``passed`` and ``checks``. PSNR of identical
frames is written as ``Infinity`` (Python's json reads it back).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from edgevsr.errors import EdgeVSRError
from edgevsr.quality.gate import GateResult
from edgevsr.quality.scorer import DatasetScores, EvalOptions

FORMAT_VERSION = 1
LPIPS_MODEL = "alex-lin v0.1"
MAIN_LABELS = ("output vs gt", "candidate vs gt")  # the comparison --compare reads, in this order


def eval_document(options: EvalOptions, gt: str | Path | None, mode: str, about: dict,
                  scores: Sequence[DatasetScores] = (), gate: GateResult | None = None) -> dict:
    """The JSON document of one run: ``about`` says what was scored (paths, model, runner...)."""
    doc = {"edgevsr_eval": FORMAT_VERSION, "options": vars(options) | {"lpips_model": LPIPS_MODEL},
           "gt": str(gt) if gt else None, "mode": mode} | about
    if gate is not None:
        return doc | gate.to_dict()
    return doc | {"results": {ds.label: ds.to_dict() for ds in scores}}


def write_eval_json(path: Path, doc: dict) -> None:
    from edgevsr.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def read_eval_json(path: Path) -> DatasetScores:
    """The main comparison of an `edgevsr eval --json` file (output/candidate vs gt)."""
    try:
        doc = json.loads(Path(path).read_text())
        results = doc["results"]
        for label in MAIN_LABELS:
            if label in results:
                return DatasetScores.from_dict(results[label])
        return DatasetScores.from_dict(next(iter(results.values())))
    except FileNotFoundError:
        raise EdgeVSRError(f"{path}: file not found") from None
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise EdgeVSRError(f"{path}: not an `edgevsr eval --json` file ({type(exc).__name__}: {exc})") from None
