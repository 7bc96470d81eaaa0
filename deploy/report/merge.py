"""Reading and merging report JSONs (several machines side by side) and iterating their cells."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from edgevsr.deploy.report.config import SCHEMA
from edgevsr.errors import EdgeVSRError, first_line


def load_report(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EdgeVSRError(f"{path}: report JSON not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EdgeVSRError(f"{path}: not a JSON file ({first_line(exc, 300)})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise EdgeVSRError(f"{path}: not an edgevsr report (schema {SCHEMA!r} expected; "
                           "make one with `edgevsr report`)")
    return data


def merge_reports(reports: list[dict], sources: list[str] | None = None) -> dict:
    """One report holding the cells of several (e.g. a Jetson run and a desktop run), machines side by side."""
    if not reports:
        raise EdgeVSRError("merge: give at least one report JSON")
    machines: dict[str, dict] = {}
    cells: list[dict] = []
    seen: set[tuple[str, str]] = set()
    evals = []
    for i, r in enumerate(reports):
        machines.update(r["machines"])
        evals.append(r["eval"])
        for c in r["cells"]:
            c = {**c, "eval": c.get("eval") or r["eval"]["id"], "source": (sources[i] if sources else None)}
            k = (c["machine"], c["key"], c["eval"])
            if k in seen:  # the same machine's cell on the same evaluation set twice: the later report wins
                cells = [x for x in cells if (x["machine"], x["key"], x["eval"]) != k]
            seen.add(k)
            cells.append(c)
    ids = {e["id"] for e in evals}
    merged = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": None,
        "merged_from": sources or [],
        "source_commands": [c for r in reports for c in report_commands(r)],
        "machines": machines,
        "sweep": reports[0]["sweep"],
        "eval": evals[0] if len(ids) == 1 else {
            **evals[0], "description": "; ".join(sorted({e["description"] for e in evals})),
            "warning": "the merged reports used different evaluation sets: quality is comparable only "
                       "within one machine's cells"},
        "eval_sets": {k: v for r in reports for k, v in eval_sets(r).items()},
        "stats": {k: sum(r["stats"].get(k, 0) for r in reports) for k in reports[0]["stats"]},
        "cells": cells,
    }
    return merged


def report_commands(report: dict) -> list[str]:
    """The sweep commands that made a report (a merged report: those of the reports it merged)."""
    return [c for c in (report.get("source_commands") or [report.get("command")]) if c]


def eval_sets(report: dict) -> dict[str, str]:
    """Evaluation-set id -> description, of a report or a merge of several."""
    return report.get("eval_sets") or {report["eval"]["id"]: report["eval"]["description"]}


def iter_measured(report: dict) -> Iterator[dict]:
    for c in report["cells"]:
        if c["status"] == "measured":
            yield c
