"""The `edgevsr eval --json` file (quality.results): written atomically, read back, bad files named in one line."""

from __future__ import annotations

import json
import math

import pytest
from conftest import moving_clip

from edgevsr.errors import EdgeVSRError
from edgevsr.quality.results import eval_document, read_eval_json, write_eval_json
from edgevsr.quality.scorer import DatasetScores, EvalOptions, Scorer


def test_document_round_trips_and_bad_files_fail_in_one_line(tmp_path):
    opts = EvalOptions(lpips=False)
    clip = moving_clip(3, 32, 48, seed=5)
    noisy = [(f // 2) * 2 for f in clip]
    scores = DatasetScores("output vs gt", opts.metric_names())
    r = Scorer(opts).score_sequence("s", {"output": noisy, "gt": clip}, [("output", "gt")])
    scores.sequences.append(r[("output", "gt")])
    doc = eval_document(opts, tmp_path / "GT", "outputs", {"outputs": "OUT"}, [scores])
    assert list(doc)[:5] == ["edgevsr_eval", "options", "gt", "mode", "outputs"]
    path = tmp_path / "r.json"
    write_eval_json(path, doc)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left beside it
    back = read_eval_json(path)
    assert back.label == "output vs gt" and back.mean() == pytest.approx(scores.mean())
    assert 30 < back.mean()["psnr_y"] < math.inf
    (tmp_path / "bad.json").write_text(json.dumps({"edgevsr_eval": 1}))
    with pytest.raises(EdgeVSRError, match=r"bad.json: not an `edgevsr eval --json` file \(KeyError"):
        read_eval_json(tmp_path / "bad.json")
    with pytest.raises(EdgeVSRError, match="missing.json: file not found"):
        read_eval_json(tmp_path / "missing.json")
