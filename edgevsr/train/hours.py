"""Counted training hours of a run, from its own ``train.csv`` timestamps (the journal's hours per line).

    python -m edgevsr.train.hours RUN_DIR [RUN_DIR ...] [--json FILE]

A run is resumed across working sessions, so not all wall-clock time between its first and last row is
training: only deltas under ``GAP_S`` between consecutive logged rows count. A row whose iteration is <= the
previous kept row's starts a new branch from a checkpoint: the kept rows at or past that iteration become a
discarded branch (its weights were thrown away, so its time is not counted and its rows are no curve).
Prints, per run, the sessions' segments, the discarded branches and the counted total.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import math
import re
import sys
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

from edgevsr.errors import EdgeVSRError

# what training writes into a run folder (trainer.py's check_run_dir; figures refuse an output of these names)
RUN_FILES = ("last.pt", "best.safetensors", "best.json", "val.csv", "train.csv", "val.png", "start.json", "config.yaml",
             "bound.json")
VALIDATED = "validated"  # keep_validated: the generator of every validation, as ITERATION.safetensors in this folder


def validated_files(run_dir: Path) -> dict[int, Path]:
    """keep_validated's files by iteration, in order; only names training writes (``123.safetensors``) in a real
    folder (not a link): what ``--overwrite`` may remove and ``candidate --iteration`` may keep."""
    folder = run_dir / VALIDATED
    if not folder.is_dir() or folder.is_symlink():
        return {}
    found = (re.fullmatch(r"([0-9]+)\.safetensors", p.name) for p in folder.iterdir())
    return {int(m[1]): folder / m[0] for m in sorted(filter(None, found), key=lambda m: int(m[1]))}

def read_mapping(path: Path, parse=json.loads, expected: str = "a mapping") -> dict:
    """``path`` parsed (``json.loads``, ``yaml.safe_load``) as a mapping: a run file cut short by a kill, a file
    that is not text or not the kind asked for is a one-line error naming it, not a traceback."""
    import yaml

    try:
        doc = parse(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EdgeVSRError(f"{path}: cannot read: not JSON ({exc.msg}, line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        raise EdgeVSRError(f"{path}: cannot read: not YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise EdgeVSRError(f"{path}: cannot read: not UTF-8 text") from None
    except RecursionError:
        raise EdgeVSRError(f"{path}: cannot read: nested too deeply") from None
    except OSError as exc:
        raise EdgeVSRError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:  # YAML's dates/!!int, JSON's 4300-digit limit
        raise EdgeVSRError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise EdgeVSRError(f"{path}: not {expected}")
    return doc


def validation_row(run_dir: Path, iteration: int) -> dict:
    """``val.csv``'s last row at ``iteration`` (a resume from an earlier checkpoint validates it again, and
    ``validated/`` then holds the later one), numbers as numbers: the validation a kept generator's card names,
    and proof the run validated there (a file put in ``validated/`` by hand is not a validation)."""
    path = run_dir / "val.csv"
    if not path.is_file():
        raise EdgeVSRError(f"{path}: no such file (the card names the validation of the weights it keeps)")
    _, rows = read_csv_rows(path)
    found = [r for r in rows if _as_int(r.get("iteration", "")) == iteration]
    if not found:
        raise EdgeVSRError(f"{path}: no validation at iteration {iteration}")

    def number(v: str) -> float | str:
        try:
            return float(v)
        except ValueError:
            return v

    return {k: (iteration if k == "iteration" else number(v)) for k, v in found[-1].items()}


def _as_int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def validated_file(run_dir: Path, iteration: int) -> tuple[Path, dict]:
    """``validated/N.safetensors`` of a keep_validated run and its ``val.csv`` row: the one way ship-weights and
    the candidate tool take a generator chosen afterwards. Training writes a regular file there, never a link,
    and validates at N: anything else is refused with one line."""
    kept = validated_files(run_dir)
    if iteration not in kept:
        held = ", ".join(map(str, kept)) or "none"
        raise EdgeVSRError(f"{run_dir / VALIDATED / f'{iteration}.safetensors'}: no such file (keep_validated "
                           f"keeps one per validation; the run has {held})")
    path = kept[iteration]
    if path.is_symlink() or not path.is_file():
        raise EdgeVSRError(f"{path}: not a regular file (training writes one there, never a link or a folder)")
    return path, validation_row(run_dir, iteration)


BEST_SHA256 = "safetensors_sha256"  # best.json's record of the best.safetensors written with it


def read_best(run_dir: Path) -> tuple[dict, Path]:
    """best.json and the best.safetensors it describes. The two are written one after the other, so a run
    stopped between the writes leaves a best.json naming another checkpoint: its recorded SHA-256 (runs before
    it have none) tells, and ship/candidate refuse with one line instead of labelling weights wrongly."""
    from edgevsr.weights import file_sha256

    info_path, best = run_dir / "best.json", run_dir / "best.safetensors"
    if not info_path.is_file() or not best.is_file():
        raise EdgeVSRError(f"{run_dir}: no best.safetensors/best.json (has the run validated at least once? --last "
                           "keeps its last checkpoint)")
    info = read_mapping(info_path, expected="a mapping (damaged or not the run's file?)")
    if type(info.get("iteration")) is not int:
        raise EdgeVSRError(f"{info_path}: iteration is {info.get('iteration')!r}, not a whole number (damaged?)")
    if BEST_SHA256 in info and not isinstance(info[BEST_SHA256], str):
        raise EdgeVSRError(f"{info_path}: {BEST_SHA256} is {info[BEST_SHA256]!r}, not a SHA-256 (damaged?)")
    if BEST_SHA256 in info and file_sha256(best) != info[BEST_SHA256]:
        raise EdgeVSRError(f"{info_path}: describes another best.safetensors (SHA-256 differs; the run stopped "
                           "between the two writes?): --resume validates again, or choose with --iteration / --last")
    return info, best


def chosen_file(run_dir: Path, last: bool = False, iteration: int | None = None) -> tuple[Path | None, dict]:
    """The generator ship-weights and the candidate tool take from a run, with its record, checked before either
    writes anything: ``last`` -> (None, {}) (``last.pt``, read by ``ship.last_checkpoint``); ``iteration`` N ->
    ``validated/N.safetensors`` and its val.csv row; else ``best.safetensors`` and ``best.json``."""
    if last and iteration is not None:
        raise EdgeVSRError("give --last or --iteration, not both")
    config = run_dir / "config.yaml"
    if not config.is_file():
        raise EdgeVSRError(f"{config}: no such file (not a training run?)")
    if last:
        return None, {}
    if iteration is not None:
        return validated_file(run_dir, iteration)
    info, best = read_best(run_dir)
    return best, info


GAP_S = 300.0  # a gap this long or longer between two logged rows is not training (the run was stopped)


@dataclass
class Segment:
    """Consecutive kept rows with no gap >= ``GAP_S`` between them (one working session, or part of one)."""

    first_iteration: int
    last_iteration: int
    start: float  # unix time
    end: float
    seconds: float

    def to_dict(self) -> dict:
        return {"from_iteration": self.first_iteration, "to_iteration": self.last_iteration,
                "start_utc": utc(self.start), "end_utc": utc(self.end), "hours": self.seconds / 3600}


@dataclass
class Discarded:
    """The rows one resume threw away (rows at or past ``resumed_at`` logged before it), with their time."""

    resumed_at: int  # the iteration of the resumed branch's first row
    line: int  # its line in train.csv
    first_iteration: int
    last_iteration: int
    seconds: float

    def to_dict(self) -> dict:
        return {"resumed_at_iteration": self.resumed_at, "line": self.line, "from_iteration": self.first_iteration,
                "to_iteration": self.last_iteration, "hours": self.seconds / 3600}


@dataclass
class Hours:
    """One run's ``train.csv`` read as branches: kept rows, segments, discarded branches, counted seconds."""

    path: Path
    iterations: list[int]
    times: list[float]
    kept: list[bool]
    branch: list[int]  # per row, the branch it was logged on (0, then +1 at each resume)
    cut: list[float]  # per branch, the iteration from which its rows were discarded (inf: never)
    counted: list[float]  # per row, the seconds before it that count (0 when the gap was a stop)
    segments: list[Segment] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.segments)

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def iteration(self) -> int:
        """The last kept row's iteration (what the weights contain)."""
        return max(i for i, k in zip(self.iterations, self.kept, strict=True) if k)

    def _kept_curve(self) -> tuple[list[int], list[float], list[float]]:
        """Kept rows in order: iteration, time, counted hours up to the row."""
        its, ts, hs, total = [], [], [], 0.0
        for i, t, k, c in zip(self.iterations, self.times, self.kept, self.counted, strict=True):
            if k:
                total += c
                its.append(i)
                ts.append(t)
                hs.append(total / 3600)
        return its, ts, hs

    def hours_at_iteration(self, iteration: float) -> float:
        """Counted hours when the kept branch reached ``iteration`` (linear between logged rows)."""
        its, _, hs = self._kept_curve()
        k = bisect.bisect_left(its, iteration)
        if k == 0:
            return 0.0
        if k == len(its):
            return hs[-1]
        return hs[k - 1] + (hs[k] - hs[k - 1]) * (iteration - its[k - 1]) / (its[k] - its[k - 1])

    def hours_at_time(self, t: float) -> float:
        """Counted hours at unix time ``t`` (a gap that is not counted adds nothing; capped at the run's total)."""
        _, ts, hs = self._kept_curve()
        k = bisect.bisect_right(ts, t)
        if k == 0:
            return 0.0
        if k == len(ts):
            return hs[-1]
        step = hs[k] - hs[k - 1]
        return hs[k - 1] + min(step, max(0.0, t - ts[k - 1]) / 3600)

    def branch_at_time(self, t: float) -> int:
        """The branch being trained at unix time ``t`` (the last one that had started)."""
        starts = [self.times[self.branch.index(b)] for b in range(len(self.cut))]
        return max(0, bisect.bisect_right(starts, t) - 1)

    def to_dict(self) -> dict:
        return {"train_csv": str(self.path), "hours": self.hours, "iteration": self.iteration,
                "gap_s": GAP_S, "segments": [s.to_dict() for s in self.segments],
                "discarded": [d.to_dict() for d in self.discarded]}


def utc(t: float) -> str:
    return _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(t))


def read_csv_rows(path: Path) -> tuple[list[str], list[dict]]:
    """A run's CSV (train.csv, val.csv) as its header and rows. A row with more or fewer fields than the header
    (cut short by a kill, perhaps with the resumed run's next row appended to it) or a file that is not CSV text
    is a one-line error naming the file and line, never a row read from the wrong columns."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EdgeVSRError(f"{path}: not a CSV text file ({exc})") from None
    for line, row in enumerate(rows, 2):
        if None in row or None in row.values():
            raise EdgeVSRError(f"{path}: line {line} has {'more' if None in row else 'fewer'} fields than the "
                               "header (a row cut short while written, another appended to it?)")
    return list(reader.fieldnames or []), rows


def read_train(path: Path) -> tuple[list[int], list[float]]:
    """``train.csv``'s iteration and time columns; anything else is a one-line error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise EdgeVSRError(f"{path}: not found (is this a run directory?)")
    fields, rows = read_csv_rows(path)
    missing = [k for k in ("iteration", "time") if k not in fields]
    if missing:
        raise EdgeVSRError(f"{path}: no {'/'.join(missing)} column (not a training run's train.csv?)")
    its, ts = [], []
    for line, row in enumerate(rows, start=2):
        try:
            i, t = float(row["iteration"]), float(row["time"])
        except ValueError:
            raise EdgeVSRError(f"{path}: line {line}: iteration/time not numbers "
                               f"({row['iteration']!r}, {row['time']!r})") from None
        for name, x in (("iteration", i), ("time", t)):
            if not math.isfinite(x):
                raise EdgeVSRError(f"{path}: line {line}: {name} is {row[name]!r}")
        its.append(int(i))
        ts.append(t)
    if not its:
        raise EdgeVSRError(f"{path}: no rows (has the run logged anything yet?)")
    return its, ts


def analyse(iterations: list[int], times: list[float], path: Path | str = "train.csv") -> Hours:
    """Branches, kept rows, segments and discarded branches of rows ``(iteration, time)`` in file order."""
    n = len(iterations)
    kept, branch, cut, owner = [True] * n, [0] * n, [math.inf], [None] * n
    discarded: list[Discarded] = []
    last = None  # index of the previous kept row
    for r in range(n):
        if last is not None and iterations[r] <= iterations[last]:  # resumed from an earlier checkpoint
            thrown = [q for q in range(r) if kept[q] and iterations[q] >= iterations[r]]
            for q in thrown:
                kept[q] = False
                owner[q] = len(discarded)
                cut[branch[q]] = min(cut[branch[q]], iterations[r])
            discarded.append(Discarded(iterations[r], r + 2, min(iterations[q] for q in thrown),
                                       max(iterations[q] for q in thrown), 0.0))
            cut.append(math.inf)
        branch[r] = len(cut) - 1
        last = r
    # the seconds before each row count when under the gap threshold: to the row's own status
    counted = [0.0] * n
    for r in range(1, n):
        dt = times[r] - times[r - 1]
        if 0 <= dt < GAP_S:
            if kept[r]:
                counted[r] = dt
            else:
                discarded[owner[r]].seconds += dt
    hours = Hours(Path(path), list(iterations), list(times), kept, branch, cut, counted, [], discarded)
    seg = None
    for r in range(n):
        if not kept[r]:
            continue
        new_branch = r > 0 and branch[r] != branch[r - 1]
        if seg is None or counted[r] == 0 or new_branch:
            if seg is not None:
                hours.segments.append(seg)
            seg = Segment(iterations[r], iterations[r], times[r] - counted[r], times[r], counted[r])
        else:
            seg.last_iteration, seg.end = iterations[r], times[r]
            seg.seconds += counted[r]
    hours.segments.append(seg)
    return hours


def run_hours(run_dir: Path | str) -> Hours:
    """The counted hours of the run in ``run_dir`` (its ``train.csv``)."""
    path = Path(run_dir) / "train.csv"
    return analyse(*read_train(path), path)


def kept_validations(hours: Hours, rows: list[dict]) -> list[tuple[dict, float]]:
    """``val.csv`` rows of the kept branches, each with its counted hours (by its time, else its iteration).

    A row with a time is dropped when it is past the cut of the branch trained at that time. Without a time:
    dropped when its iteration is in a discarded range and a later row restarts (iteration <= the one before) at
    or below that range's last iteration."""
    its = [int(float(r["iteration"])) for r in rows]
    restarts = [(q, its[q]) for q in range(1, len(its)) if its[q] <= its[q - 1]]
    out = []
    for p, (row, i) in enumerate(zip(rows, its, strict=True)):
        t = row.get("time")
        if t not in (None, ""):
            if i >= hours.cut[hours.branch_at_time(float(t))]:
                continue
            out.append((row, hours.hours_at_time(float(t))))
            continue
        if any(d.resumed_at <= i <= d.last_iteration and any(q > p and j <= d.last_iteration for q, j in restarts)
               for d in hours.discarded):
            continue
        out.append((row, hours.hours_at_iteration(i)))
    return out


def table(hours: Hours) -> str:
    lines = [f"{hours.path.parent}  ({len(hours.iterations)} rows in train.csv; gaps >= {GAP_S:g} s not counted)",
             f"  {'segment':<20} {'start (UTC)':<20} {'end (UTC)':<20} {'hours':>6}"]
    for s in hours.segments:
        lines.append(f"  {f'{s.first_iteration} -> {s.last_iteration}':<20} {utc(s.start):<20} {utc(s.end):<20} "
                     f"{s.seconds / 3600:6.2f}")
    for d in hours.discarded:
        lines.append(f"  discarded {d.first_iteration} -> {d.last_iteration} (resumed at {d.resumed_at}, "
                     f"train.csv line {d.line}): {d.seconds / 3600:.2f} h, not counted")
    lines.append(f"  counted: {hours.hours:.2f} h, iteration {hours.iteration}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgevsr.train.hours", description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    ap.add_argument("--json", type=Path, help="also write the segments and totals as JSON")
    args = ap.parse_args(argv)
    try:
        results = [run_hours(r) for r in args.runs]
        print("\n\n".join(table(h) for h in results))
        if args.json:  # as the other train tools write theirs: temp beside it, renamed when complete
            from edgevsr.io.atomic import atomic_path

            with atomic_path(args.json, inputs=[h.path for h in results]) as tmp:
                Path(tmp).write_text(json.dumps({str(r): h.to_dict() for r, h in zip(args.runs, results, strict=True)},
                                                indent=2) + "\n")
    except EdgeVSRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from edgevsr.io.signals import run_script

    run_script(main, "edgevsr.train.hours")
