"""python -m edgevsr.train.candidate: a damaged run file or a wrong output name is one line, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file

from edgevsr.train.candidate import main


def _run(run: Path) -> None:
    run.mkdir()
    save_file({"w": torch.ones(2, 2)}, str(run / "best.safetensors"))
    (run / "config.yaml").write_text(yaml.safe_dump({"model": "egvsr-lite", "stage": 1,
                                                     "data": {"root": "ds", "val_clips": ["held"]}}))
    (run / "best.json").write_text(json.dumps({"iteration": 300, "psnr_y": 30.0}, indent=2))


@pytest.mark.parametrize("name, content, message", [
    # best.json and config.yaml are written in place: a kill leaves them cut short (JSONDecodeError traceback)
    ("best.json", '{\n  "iteration": 300,\n  "psnr', "best.json: cannot read"),
    ("config.yaml", "", "config.yaml: not a mapping"),  # TypeError traceback, after the weights were written
    ("config.yaml", "model: [", "config.yaml: cannot read"),
    ("config.yaml", "model: egvsr-lite\nstage: 1\n", "no model/stage/data.root"),  # KeyError, weights written
])
def test_a_damaged_run_file_is_one_line_and_writes_nothing(tmp_path, capsys, name, content, message):
    _run(tmp_path / "run")
    (tmp_path / "run" / name).write_text(content)
    out = tmp_path / "out" / "cand.safetensors"
    out.parent.mkdir()
    assert main([str(tmp_path / "run"), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert list(out.parent.iterdir()) == []


def test_the_candidate_and_its_card_are_two_files(tmp_path, capsys):
    """OUT.json: the weights were written to it, then replaced by the card, and the command said it wrote them;
    another suffix is read back as a pickle by ``init``. Both refused; OUT.safetensors gets the card beside it."""
    _run(tmp_path / "run")
    for name in ("cand.json", "cand.pt"):
        assert main([str(tmp_path / "run"), str(tmp_path / name)]) == 2
        assert ".safetensors" in capsys.readouterr().err and not (tmp_path / name).exists()
    assert main([str(tmp_path / "run"), str(tmp_path / "cand.safetensors")]) == 0
    assert json.loads((tmp_path / "cand.json").read_text())["iteration"] == 300
