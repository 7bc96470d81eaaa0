"""`python -m edgevsr.train.held_out`: a compare-weights JSON as markdown rows and as a weight card's table."""

from __future__ import annotations

import json

from edgevsr.train.held_out import main


def _report(tmp_path):
    bd = {"psnr_y": 27.0, "lpips": 0.4, "tof": 1.0, "tlp100": 2.0}
    rows = []
    for clip in ("tree", "bikes"):
        rows.append({"weights": "bicubic-bd", "clip": clip, **bd})
        rows.append({"weights": "w1", "clip": clip, "psnr_y": 28.5, "lpips": 0.3, "tof": 0.8, "tlp100": 1.0,
                     "psnr_y_bicubic_bd": 27.0, "flow_epe": 0.5,
                     "vs_bicubic_bd": {"psnr_y_db": 1.5, "lpips_ratio": 0.75, "tof_ratio": 0.8, "tlp100_ratio": 0.5}})
    path = tmp_path / "cmp.json"
    path.write_text(json.dumps({"frames": 30, "command": "edgevsr compare-weights ...", "rows": rows}))
    return path


def test_markdown_rows_and_card_table(tmp_path, capsys):
    result = _report(tmp_path)
    card = tmp_path / "w1.json"
    card.write_text(json.dumps({"name": "w1"}))
    assert main([str(result), "--weights", "w1", "--card", str(card)]) == 0
    out = capsys.readouterr().out
    assert "| weights | tree | bikes |" in out and "| w1 | +1.50 / 0.75 / 0.80 / 0.50 / 0.50 |" in out
    table = json.loads(card.read_text())["held_out_vs_bicubic_bd"]
    assert table["json"] == str(result) and table["command"].startswith("edgevsr compare-weights")
    assert set(table["clips"]) == {"tree", "bikes"} and table["clips"]["tree"]["psnr_y_bicubic_bd"] == 27.0
    assert "first 30 frames" in table["what"]


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    result = _report(tmp_path)
    assert main([str(tmp_path / "none.json")]) == 2
    assert main([str(result), "--weights", "w2", "--card", str(result)]) == 2
    assert main([str(result), "--card", str(result)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {tmp_path / 'none.json'}: not found",
                   f"error: {result}: no weights 'w2' (has: w1)",
                   "error: --card needs --weights NAME (which weights of the result the card is for)"]
