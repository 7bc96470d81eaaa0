"""Every benchmark results file is indexed, with its command, in benchmarks/results/README.md."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_every_results_file_is_in_the_index():
    index = (RESULTS / "README.md").read_text()
    entries = [p for p in RESULTS.iterdir() if p.name != "README.md"]
    missing = sorted(p.name for p in entries if f"`{p.name}{'/' if p.is_dir() else ''}`" not in index)
    assert not missing, f"benchmarks/results/README.md does not index (name, command, reader): {missing}"
