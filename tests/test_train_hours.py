"""Counted training hours (edgevsr.train.hours) and the validation curves on them (benchmarks/plot_runs_vs_time.py)."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from edgevsr.train.hours import GAP_S, main, run_hours

T0 = 1_800_000_000.0
PLOT = Path(__file__).resolve().parents[1] / "benchmarks" / "plot_runs_vs_time.py"


def _train(run: Path, rows: list[tuple[int, float]]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "train.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["iteration", "lr", "loss", "it_per_s", "time"])
        w.writerows([i, 1e-4, 0.01, 0.2, t] for i, t in rows)


def _val(run: Path, rows: list[tuple[int, float | None]]) -> None:
    """Validation rows (iteration, time or None); psnr_y@c carries the iteration so tests can tell rows apart."""
    with open(run / "val.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["iteration", "psnr_y", "tof", "psnr_y@c", "psnr_y_bicubic_bd@c", "tof@c", "tof_bicubic_bd@c",
                    "time"])
        w.writerows([i, 30, 0.5, 30 + i / 1000, 30, 0.5, 1.0, "" if t is None else t] for i, t in rows)


def _resumed_run(run: Path) -> None:
    """Session 1: 0..100 s, iterations 10..100 (90 s counted); 2 h stop; session 2: 110..150 (+40 s), then killed
    at 150 and resumed 60 s later from a checkpoint at 125: rows 130..200 (10 s apart; the resume gap counts)."""
    s1 = [(10 * k, T0 + 10 * k) for k in range(1, 11)]
    t2 = T0 + 100 + 7200
    s2 = [(110 + 10 * k, t2 + 10 * k) for k in range(5)]  # 110..150, 40 s
    t3 = s2[-1][1] + 60
    s3 = [(130 + 10 * k, t3 + 10 * k) for k in range(8)]  # 130..200, 60 s after the kill
    _train(run, s1 + s2 + s3)


def test_gap_between_sessions_is_not_counted(tmp_path):
    _train(tmp_path, [(10, T0), (20, T0 + 10), (30, T0 + 20), (40, T0 + 20 + GAP_S), (50, T0 + 30 + GAP_S)])
    h = run_hours(tmp_path)
    assert h.seconds == pytest.approx(30)
    assert [(s.first_iteration, s.last_iteration) for s in h.segments] == [(10, 30), (40, 50)]
    assert not h.discarded and h.iteration == 50


def test_discarded_branch_time_and_rows_are_left_out(tmp_path):
    _resumed_run(tmp_path)
    h = run_hours(tmp_path)
    # 90 s + 110..120 (10 s) + the resume gap 60 s + 130..200 (70 s); 130..150 of session 2 (30 s) discarded
    assert h.seconds == pytest.approx(90 + 10 + 60 + 70)
    [d] = h.discarded
    assert (d.resumed_at, d.first_iteration, d.last_iteration) == (130, 130, 150)
    assert d.seconds == pytest.approx(30)
    assert [(s.first_iteration, s.last_iteration) for s in h.segments] == [(10, 100), (110, 120), (130, 200)]
    assert h.iteration == 200
    kept = [i for i, k in zip(h.iterations, h.kept, strict=True) if k]
    assert kept == sorted(kept) and kept.count(130) == 1


def test_cli_prints_the_table_and_json(tmp_path, capsys):
    _resumed_run(tmp_path / "run")
    assert main([str(tmp_path / "run"), "--json", str(tmp_path / "h.json")]) == 0
    out = capsys.readouterr().out
    assert "130 -> 200" in out and "discarded 130 -> 150" in out and "counted: 0.06 h, iteration 200" in out
    doc = json.loads((tmp_path / "h.json").read_text())[str(tmp_path / "run")]
    assert doc["hours"] == pytest.approx(230 / 3600) and doc["discarded"][0]["resumed_at_iteration"] == 130


def test_cli_json_never_lands_on_its_input_or_a_folder(tmp_path, capsys):
    _resumed_run(tmp_path / "run")
    csv_before = (tmp_path / "run" / "train.csv").read_bytes()
    assert main([str(tmp_path / "run"), "--json", str(tmp_path / "run" / "train.csv")]) == 2
    assert (tmp_path / "run" / "train.csv").read_bytes() == csv_before
    (tmp_path / "out").mkdir()
    assert main([str(tmp_path / "run"), "--json", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert list((tmp_path / "out").iterdir()) == [] and sorted(p.name for p in (tmp_path / "run").iterdir()) == \
        ["train.csv"]


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("iteration,lr,loss,it_per_s,time\n", "no rows"),
    ("iteration,lr,loss\n1,0.1,0.2\n", "no time column"),
    ("iteration,lr,loss,it_per_s,time\n1,0.1,0.2,1,soon\n", "line 2"),
    # iteration inf was an OverflowError traceback
    ("iteration,lr,loss,it_per_s,time\n1,0.1,0.2,1,100\ninf,0.1,0.2,1,200\n", "line 3: iteration is 'inf'"),
    # a row cut short by a kill, the resumed run's next row appended to it: its time was read from another column
    ("iteration,lr,loss,it_per_s,time\n1,0.1,0.2,1,100\n2,0.13,0.1,0.2,1,300\n", "line 3 has more fields"),
    (b"\xff\xfe\x00iteration", "not a CSV text file"),  # UnicodeDecodeError traceback
])
def test_bad_train_csv_is_one_line_naming_the_file_exit_2(tmp_path, capsys, content, message):
    if isinstance(content, bytes):
        (tmp_path / "train.csv").write_bytes(content)
    elif content is not None:
        (tmp_path / "train.csv").write_text(content)
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(tmp_path / "train.csv") in err
    assert message in err


def _plot_module():
    spec = importlib.util.spec_from_file_location("plot_runs_vs_time", PLOT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("timed", [True, False])
def test_plot_curve_is_on_counted_hours_without_the_discarded_validations(tmp_path, timed):
    run = tmp_path / "run"
    _resumed_run(run)
    h = run_hours(run)
    at = dict(zip(zip(h.iterations, h.kept, strict=True), h.times, strict=True))
    # validations at 50, 100 (session 1), 140 (the discarded branch), then 140 and 200 on the kept branch
    rows = [(50, at[50, True]), (100, at[100, True]), (140, at[140, False]), (140, at[140, True]),
            (200, at[200, True])]
    _val(run, [(i, t + 1 if timed else None) for i, t in rows])
    c = _plot_module().curve(run)
    hours = [p["hours"] for p in c["points"]]
    assert [p["iteration"] for p in c["points"]] == [50, 100, 140, 200]
    assert c["validations_discarded"] == 1
    assert all(a < b for a, b in zip(hours, hours[1:], strict=False))
    assert hours[-1] == pytest.approx(h.hours)  # not the 2 h stop: counted hours
    assert hours[1] == pytest.approx(90 / 3600, abs=2 / 3600)


def test_plot_cli_writes_png_and_json_and_reports_bad_runs(tmp_path, capsys):
    run = tmp_path / "run"
    _resumed_run(run)
    _val(run, [(100, None), (200, None)])
    mod = _plot_module()
    png, js = tmp_path / "f.png", tmp_path / "f.json"
    assert mod.main([f"a={run}", "-o", str(png), "--json", str(js)]) == 0
    assert png.stat().st_size > 1000 and json.loads(js.read_text())["a"]["points"][-1]["iteration"] == 200
    assert mod.main([f"b={tmp_path / 'nowhere'}", "-o", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err


def _search_module(monkeypatch):
    monkeypatch.syspath_prepend(str(PLOT.parent))  # it imports its sibling plot_runs_vs_time, as when run
    path = PLOT.with_name("plot_stage2_search.py")
    spec = importlib.util.spec_from_file_location("plot_stage2_search", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _search_val(run: Path, rows: list[list]) -> None:
    """A stage-2 run with clips a, b: train.csv, and val.csv with ``rows`` (iteration, lpips, psnr_y, then per clip
    tof, tof_bicubic_bd, tlp100, tlp100_bicubic_bd, then time)."""
    _train(run, [(10 * k, T0 + 10 * k) for k in range(1, 21)])
    cols = ["iteration", "lpips", "psnr_y"] + [f"{m}{s}@{c}" for c in "ab" for m in ("tof", "tlp100")
                                               for s in ("", "_bicubic_bd")] + ["time"]
    with open(run / "val.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(rows)


def test_stage2_search_names_the_worst_clip_against_the_lower_bound(tmp_path, capsys, monkeypatch):
    """Bound per clip = the lower of the iteration-0 weights' and bicubic-bd's value: clip b's tOF 0.45 passes
    the start's 0.5 but fails bicubic-bd's 0.4; a run without its iteration-0 validation is refused in one line."""
    run = tmp_path / "run"
    _search_val(run, [[0, 0.4, 30, 0.2, 0.3, 1.0, 2.0, 0.5, 0.4, 1.0, 2.0, T0],
                      [100, 0.3, 30, 0.21, 0.3, 0.9, 2.0, 0.45, 0.4, 1.0, 2.0, T0 + 100]])
    mod = _search_module(monkeypatch)
    [start, later] = mod.branch(run)["points"]
    assert start["failing"] == ["tof@b"]  # the start itself flickers more than bicubic-bd on b
    assert later["worst_tof_clip"] == "b" and later["worst_tof_ratio"] == pytest.approx(0.45 / 0.4)
    assert later["failing"] == ["tof@a", "tof@b"]  # a: 0.21 over its start's 0.2
    assert later["worst_tlp100_ratio"] == pytest.approx(1.0) and later["worst_tlp100_clip"] == "b"
    out = tmp_path / "s.png"
    assert mod.main([f"x={run}", "-o", str(out), "--json", str(tmp_path / "s.json")]) == 0
    assert out.stat().st_size > 1000 and json.loads((tmp_path / "s.json").read_text())["x"]["points"]
    rows = (run / "val.csv").read_text().splitlines()
    (run / "val.csv").write_text("\n".join([rows[0], rows[2]]) + "\n")
    assert mod.main([f"x={run}", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "iteration-0 validation" in err


def test_plots_refuse_a_run_file_as_output_and_a_row_cut_short(tmp_path, capsys, monkeypatch):
    """Both plotting scripts: --json or -o naming a run's val.csv is refused before anything is written (the
    run's curve would be replaced), and a val.csv whose last row was cut short by a killed run is a one-line
    error naming the line, not a point drawn from part of a row."""
    run = tmp_path / "run"
    _resumed_run(run)
    _val(run, [(50, None), (100, None)])
    original = (run / "val.csv").read_bytes()
    for mod in (_plot_module(), _search_module(monkeypatch)):
        assert mod.main([f"x={run}", "-o", str(tmp_path / "f.png"), "--json", str(run / "val.csv")]) == 2
        assert "training writes" in capsys.readouterr().err and (run / "val.csv").read_bytes() == original
        assert not (tmp_path / "f.png").exists()
        (run / "val.csv").write_bytes(original + b"150,30,0.5")
        assert mod.main([f"x={run}", "-o", str(tmp_path / "f.png")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "line 4 has fewer fields" in err, err
        (run / "val.csv").write_bytes(original)


def _search_run(run: Path, later: list[list]) -> None:
    """A stage-2 run with clips a, b: the iteration-0 validation, then ``later`` rows (iteration, lpips, psnr_y,
    tof@a, tlp100@a, tof@b, tlp100@b); bicubic-bd's values repeat the start's bounds."""
    _search_val(run, [[0, 0.4, 30, 0.5, 0.6, 1.0, 2.0, 0.5, 0.6, 1.0, 2.0, T0]]
                + [[i, lp, ps, ta, 0.6, la, 2.0, tb, 0.6, lb, 2.0, T0 + 50 * k]
                   for k, (i, lp, ps, ta, la, tb, lb) in enumerate(later, 1)])


@pytest.mark.parametrize("nan_clip", ["a", "b"])
def test_stage2_search_never_draws_a_nan_clip_under_its_bound(tmp_path, monkeypatch, nan_clip):
    """A clip whose tOF is NaN (a diverged generator) is the validation's worst, whichever clip it is: the figure
    drew the other clip's ratio (under 1, a pass) when the NaN came second, since NaN compares false in max()."""
    run = tmp_path / "run"
    tof = {"a": 0.45, "b": 0.45, nan_clip: "nan"}
    _search_run(run, [[100, 0.3, 30, tof["a"], 0.9, tof["b"], 0.9]])
    [_, later] = _search_module(monkeypatch).branch(run)["points"]
    assert later["worst_tof_clip"] == nan_clip and not later["worst_tof_ratio"] < 1
    assert f"tof@{nan_clip}" in later["failing"]


def test_stage2_search_tells_a_validation_without_lpips_from_damage(tmp_path, capsys, monkeypatch):
    """A session without LPIPS weights validates without lpips and tLP100 (empty fields): shown as not measured,
    not a traceback; an iteration-0 value that cannot bound (empty, NaN, 0) or a missing column is one line."""
    run = tmp_path / "run"
    _search_run(run, [[100, "", 30, 0.45, "", 0.45, ""], [200, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])
    mod = _search_module(monkeypatch)
    [_, bare, full] = mod.branch(run)["points"]
    assert bare["lpips"] is None and bare["worst_tlp100_ratio"] is None and bare["worst_tlp100_clip"] is None
    assert bare["worst_tof_ratio"] == pytest.approx(0.9) and full["worst_tlp100_ratio"] == pytest.approx(0.9)
    out = tmp_path / "s.png"
    assert mod.main([f"x={run}", "-o", str(out)]) == 0 and out.stat().st_size > 1000
    capsys.readouterr()
    good = (run / "val.csv").read_text().splitlines()
    for field, text, message in [(3, "", "line 2: tof@a is empty"), (3, "nan", "tof@a is nan"),
                                 (4, "0", "tof_bicubic_bd@a is 0.0")]:
        start = good[1].split(",")
        start[field] = text
        (run / "val.csv").write_text("\n".join([good[0], ",".join(start), *good[2:]]) + "\n")
        assert mod.main([f"x={run}", "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    cols = good[0].split(",")
    (run / "val.csv").write_text("\n".join(",".join(x for k, x in enumerate(line.split(",")) if k != 4)
                                           for line in good) + "\n")  # no tof_bicubic_bd@a column
    assert mod.main([f"x={run}", "-o", str(out)]) == 2
    assert f"no {cols[4]} column" in capsys.readouterr().err


def test_plots_refuse_damaged_val_csv_and_ambiguous_arguments_in_one_line(tmp_path, capsys, monkeypatch):
    """Both plotting scripts: an empty iteration, no iteration column, a binary file, a value the figure needs
    left empty, a zero bicubic-bd tOF are one-line errors naming the file (they were tracebacks); a label given
    twice (the later run silently replaced the earlier) and -o and --json naming one file (the JSON replaced the
    figure) are refused."""
    png = tmp_path / "f.png"
    plot_run, search_run = tmp_path / "p", tmp_path / "s"
    _resumed_run(plot_run)
    _val(plot_run, [(50, None), (100, None)])
    _search_run(search_run, [[100, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])
    for mod, run in ((_plot_module(), plot_run), (_search_module(monkeypatch), search_run)):
        good = (run / "val.csv").read_text().splitlines()
        for rows, message in [([good[0], "," + good[1].partition(",")[2]], "line 2: iteration is ''"),
                              ([good[0].replace("iteration", "step"), *good[1:]], "no iteration column")]:
            (run / "val.csv").write_text("\n".join(rows) + "\n")
            assert mod.main([f"x={run}", "-o", str(png)]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and str(run / "val.csv") in err and message in err, err
        (run / "val.csv").write_bytes(b"\xff\xfe\x00\x01")
        assert mod.main([f"x={run}", "-o", str(png)]) == 2
        assert "not a CSV text file" in capsys.readouterr().err
        (run / "val.csv").write_text("\n".join(good) + "\n")
        assert mod.main([f"x={run}", f"y={run}", f"x={tmp_path}", "-o", str(png)]) == 2
        assert "label 'x' given twice" in capsys.readouterr().err
        assert mod.main([f"x={run}", "-o", str(png), "--json", str(png)]) == 2
        assert "named for two outputs" in capsys.readouterr().err and not png.exists()
    good = (plot_run / "val.csv").read_text().splitlines()
    for row, message in [(good[1].replace(",0.5,1.0,", ",,1.0,"), "line 2: tof@c is empty"),
                         (good[1].replace(",0.5,1.0,", ",0.5,0,"), "tof_bicubic_bd@c is 0.0: no ratio")]:
        (plot_run / "val.csv").write_text("\n".join([good[0], row]) + "\n")
        assert _plot_module().main([f"x={plot_run}", "-o", str(png)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_runs_figure_draws_every_run_not_the_first_four(tmp_path, monkeypatch):
    """Colours were zipped with a list of four, non-strict: a fifth run was silently left out of the figure."""
    import matplotlib.pyplot as plt

    run = tmp_path / "run"
    _resumed_run(run)
    _val(run, [(50, None), (100, None)])
    drawn = []
    monkeypatch.setattr(plt, "close", lambda fig: drawn.append(fig))
    mod = _plot_module()
    assert mod.main([f"r{k}={run}" for k in range(6)] + ["-o", str(tmp_path / "f.png")]) == 0
    labels = [line.get_label() for line in drawn[0].axes[0].lines if "mean" in line.get_label()]
    assert labels == [f"r{k} (mean)" for k in range(6)]


def test_plots_check_both_outputs_before_writing_either(tmp_path, capsys, monkeypatch):
    """--json in a folder that does not exist was refused only after the figure had been replaced: the command
    failed (exit 2) and the old figure was gone. Both outputs are checked first; a rerun still replaces them."""
    plot_run, search_run = tmp_path / "p", tmp_path / "s"
    _resumed_run(plot_run)
    _val(plot_run, [(50, None), (100, None)])
    _search_run(search_run, [[100, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])
    png = tmp_path / "f.png"
    png.write_bytes(b"the old figure")
    for mod, run in ((_plot_module(), plot_run), (_search_module(monkeypatch), search_run)):
        assert mod.main([f"x={run}", "-o", str(png), "--json", str(tmp_path / "nowhere" / "f.json")]) == 2
        assert "does not exist" in capsys.readouterr().err and png.read_bytes() == b"the old figure"
    assert mod.main([f"x={run}", "-o", str(png), "--json", str(tmp_path / "f.json")]) == 0
    assert png.read_bytes() != b"the old figure" and (tmp_path / "f.json").is_file()


def test_stage2_search_draws_a_branch_from_where_it_left_its_parent(monkeypatch):
    """A branch's folder copies its parent's history: the figure draws each branch from its last shared point on,
    so the last branch listed no longer covers the others from 0; a branch with nothing of its own draws its
    branch point alone."""
    mod = _search_module(monkeypatch)

    def pts(*rows):
        return [{"iteration": i, "lpips": lp, "worst_tof_ratio": 1.0, "worst_tlp100_ratio": 1.1} for i, lp in rows]

    parent, child = pts((0, 0.4), (100, 0.3), (200, 0.29)), pts((0, 0.4), (100, 0.3), (200, 0.27), (300, 0.26))
    drawn: set = set()
    assert [p["iteration"] for p in mod.own_points(parent, drawn)] == [0, 100, 200]
    assert [(p["iteration"], p["lpips"]) for p in mod.own_points(child, drawn)] == [(100, 0.3), (200, 0.27),
                                                                                  (300, 0.26)]
    # nothing of its own yet (a branch just started): its branch point alone, not its parent's line over again
    assert [p["iteration"] for p in mod.own_points(pts((0, 0.4), (100, 0.3)), drawn)] == [100]


def test_stage2_search_takes_the_bound_from_bound_json_over_the_iteration_0_row(tmp_path, capsys, monkeypatch):
    """A run started (init) from a stage-2 checkpoint with gan.bound_weights: its iteration-0 row is those
    weights, not its bound; the bound is bound.json's. Bicubic-bd's values still come from val.csv. A bound.json
    that is not JSON, not an object, lacks a clip val.csv measures or holds no usable value is one line naming it."""
    run = tmp_path / "run"
    _search_run(run, [[100, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])  # iteration 0: tOF 0.5, tLP100 1.0 on a and b
    mod = _search_module(monkeypatch)
    assert mod.branch(run)["points"][1]["worst_tof_ratio"] == pytest.approx(0.45 / 0.5)
    bound = {"source": "training/candidates/egvsr.safetensors", "iteration": 0, "lpips": 0.5,
             "tof@a": 0.3, "tof@b": 0.5, "tlp100@a": 1.0, "tlp100@b": 0.8, "tof_bicubic_bd@a": 0.6}
    (run / "bound.json").write_text(json.dumps(bound))
    b = mod.branch(run)
    assert b["bounds"]["tof@a"] == 0.3 and b["bounds"]["tlp100@b"] == 0.8
    assert b["bound_source"] == "bound.json (training/candidates/egvsr.safetensors)"
    [start, later] = b["points"]
    assert later["worst_tof_clip"] == "a" and later["worst_tof_ratio"] == pytest.approx(0.45 / 0.3)
    assert later["worst_tlp100_ratio"] == pytest.approx(0.9 / 0.8) and later["failing"] == ["tlp100@b", "tof@a"]
    assert start["failing"] == ["tlp100@b", "tof@a"]  # the weights it started from are judged too
    out = tmp_path / "s.png"
    for text, message in [("{", "not JSON"), ("[]", "not a JSON object"),
                          (json.dumps({k: v for k, v in bound.items() if k != "tlp100@b"}), "no tlp100@b"),
                          (json.dumps({**bound, "tof@b": "0.5"}), "tof@b is '0.5'"),
                          (json.dumps({**bound, "tof@b": 0}), "tof@b is 0")]:
        (run / "bound.json").write_text(text)
        assert mod.main([f"x={run}", "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(run / "bound.json") in err and message in err, err
    assert not out.exists()
    (run / "bound.json").write_text(json.dumps(bound))
    assert mod.main([f"x={run}", "-o", str(out), "--json", str(run / "bound.json")]) == 2  # an input of the figure
    assert "training writes" in capsys.readouterr().err and json.loads((run / "bound.json").read_text()) == bound
    (run / "bound.json").unlink()  # an older run has none yet: the figure's JSON must not take its name either
    assert mod.main([f"x={run}", "-o", str(out), "--json", str(run / "bound.json")]) == 2
    assert "training writes" in capsys.readouterr().err and not (run / "bound.json").exists()


def test_stage2_search_draws_a_continued_run_at_the_lines_iterations(tmp_path, capsys, monkeypatch):
    """LABEL=RUN_DIR@ITERATION: a run started from the line's ITERATION weights restarts its val.csv at 0; its
    iteration i is drawn, written and printed at ITERATION + i. An ITERATION that is not a whole number >= 0 is
    one line (exit 2)."""
    run = tmp_path / "run"
    _search_run(run, [[100, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])
    mod = _search_module(monkeypatch)
    out, js = tmp_path / "s.png", tmp_path / "s.json"
    assert mod.main([f"x={run}@11700", "-o", str(out), "--json", str(js)]) == 0
    b = json.loads(js.read_text())["x"]
    assert [p["iteration"] for p in b["points"]] == [11700, 11800] and b["iteration_offset"] == 11700
    assert b["run"] == str(run) and "  11800 " in capsys.readouterr().out
    for bad in ["-5", "1.5", "abc", ""]:
        assert mod.main([f"x={run}@{bad}", "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"not {bad!r}" in err and "ITERATION" in err, err


def test_stage2_search_carries_previous_branches_into_the_new_json(tmp_path, capsys, monkeypatch):
    """--previous: an earlier JSON's branches (their run folders gone) are drawn first, in their order, and written
    again, so the JSON stays complete; a label given on the command line too is read from its run, in its place.
    --json may name the --previous file; -o may not. A malformed --previous is one line naming it (exit 2)."""
    import shutil

    mod = _search_module(monkeypatch)
    runs = {k: tmp_path / k for k in "abc"}
    for k, run in runs.items():
        _search_run(run, [[100, 0.3 - 0.01 * "abc".index(k), 30, 0.45, 0.9, 0.45, 0.9]])
    out, js = tmp_path / "s.png", tmp_path / "s.json"
    assert mod.main([f"a={runs['a']}", f"b={runs['b']}", "-o", str(out), "--json", str(js)]) == 0
    first = json.loads(js.read_text())
    shutil.rmtree(runs["a"])  # a new machine: only the JSON is left
    assert mod.main(["--previous", str(js), f"c={runs['c']}", f"b={runs['b']}@1000", "-o", str(out),
                     "--json", str(js)]) == 0
    again = json.loads(js.read_text())
    assert list(again) == ["a", "b", "c"] and again["a"] == first["a"]
    assert [p["iteration"] for p in again["b"]["points"]] == [1000, 1100]  # the command line's b
    assert [p["lpips"] for p in again["c"]["points"]] == pytest.approx([0.4, 0.28])
    assert mod.main(["--previous", str(js), "-o", str(out)]) == 0  # the figure again, from the JSON alone
    capsys.readouterr()
    committed = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "stage2_search.json"
    assert list(mod.previous_branches(committed)) == list(json.loads(committed.read_text()))
    point = first["a"]["points"][0]
    for content, message in [("{", "not JSON"), ("[]", "not a JSON object of branches"),
                             (json.dumps({"a": {"run": "r", "clips": ["a"]}}), "branch 'a': needs run, clips"),
                             (json.dumps({"a": {**first["a"], "points": [{**point, "iteration": "0"}]}}),
                              "point 0: iteration is '0'"),
                             (json.dumps({"a": {**first["a"], "points": [{"iteration": 0}]}}), "point 0 has no hours")]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        assert mod.main(["--previous", str(bad), f"c={runs['c']}", "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(bad) in err and message in err, err
    png_named = tmp_path / "prev.png"
    png_named.write_text(js.read_text())
    assert mod.main(["--previous", str(png_named), "-o", str(png_named)]) == 2
    assert "is the input" in capsys.readouterr().err and json.loads(png_named.read_text()) == again
    assert mod.main(["-o", str(out)]) == 2 and "nothing to draw" in capsys.readouterr().err


def test_stage2_search_never_drops_a_previous_branch_nor_traces_back_on_an_empty_one(tmp_path, capsys, monkeypatch):
    """--previous holds the only copy of a branch whose run folder is gone: a new run given its label is refused,
    not written over it; a --previous without branches is one line, not a StopIteration from the figure."""
    import shutil

    mod = _search_module(monkeypatch)
    old, new = tmp_path / "old", tmp_path / "new"
    _search_run(old, [[100, 0.3, 30, 0.45, 0.9, 0.45, 0.9]])
    _search_run(new, [[100, 0.29, 30, 0.45, 0.9, 0.45, 0.9]])
    out, js = tmp_path / "s.png", tmp_path / "s.json"
    assert mod.main([f"p={old}", "-o", str(out), "--json", str(js)]) == 0
    shutil.rmtree(old)
    kept = js.read_text()
    assert mod.main(["--previous", str(js), f"p={new}@200", "-o", str(out), "--json", str(js)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another label" in err and js.read_text() == kept
    (tmp_path / "empty.json").write_text("{}")
    assert mod.main(["--previous", str(tmp_path / "empty.json"), "-o", str(out)]) == 2
    assert "no branches" in capsys.readouterr().err


def test_stage2_search_dedups_a_shared_nan_point(monkeypatch):
    """A NaN ratio in the history a branch copied from its parent is the same point: NaN != NaN left the branch
    drawn again from 0 over its parent."""
    mod = _search_module(monkeypatch)

    def pts(*its):
        return [{"iteration": i, "lpips": 0.3, "worst_tof_ratio": float("nan") if i == 100 else 1.0,
                 "worst_tlp100_ratio": 1.0} for i in its]

    drawn: set = set()
    mod.own_points(pts(0, 100, 200), drawn)
    assert [p["iteration"] for p in mod.own_points(pts(0, 100, 200, 300), drawn)] == [200, 300]


def _line_module(monkeypatch):
    monkeypatch.syspath_prepend(str(PLOT.parent))  # it imports its siblings, as when run
    spec = importlib.util.spec_from_file_location("plot_egvsr_line", PLOT.with_name("plot_egvsr_line.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _line_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """Stage 1 validated at 0, 100 (1 h), 200 (2 h); stage 2's first branch to 300 (1.5 h), a second branch copied
    from it at 200 (its hours 0 there, as a run continued from weights counts them) to 400."""
    s1 = {"e": {"points": [{"iteration": i, "hours": h, "gain_db": g, "tof_ratio": 0.7}
                           for i, h, g in [(0, 0.0, 0.5), (100, 1.0, 0.8), (200, 2.0, 0.9)]]}}

    def point(i, h, lp):
        return {"iteration": i, "hours": h, "lpips": lp, "psnr_y": 28.0, "worst_tof_ratio": 1.1,
                "worst_tof_clip": "a", "worst_tlp100_ratio": 1.0, "worst_tlp100_clip": "b", "failing": ["tof@a"]}
    s2 = {"x": {"run": "r1", "clips": ["a", "b"], "bounds": {},
                "points": [point(0, 0.0, 0.4), point(100, 0.5, 0.3), point(200, 1.0, 0.25), point(300, 1.5, 0.2)]},
          "y": {"run": "r2", "clips": ["a", "b"], "bounds": {}, "iteration_offset": 200,
                "points": [point(200, 0.0, 0.25), point(300, 0.25, 0.24), point(400, 0.75, 0.23)]}}
    (tmp_path / "s1.json").write_text(json.dumps(s1))
    (tmp_path / "s2.json").write_text(json.dumps(s2))
    return tmp_path / "s1.json", tmp_path / "s2.json"


def test_line_figure_puts_stage_1_and_the_kept_stage_2_chain_on_one_hour_axis(tmp_path, capsys, monkeypatch):
    """The kept weights' own hours: stage 1 to the iteration stage 2 left from, then each branch of the chain from
    where it left the one before; the other branch's later points (x after 200) are not the kept weights'."""
    mod = _line_module(monkeypatch)
    s1, s2 = _line_inputs(tmp_path)
    png, js = tmp_path / "l.png", tmp_path / "l.json"
    args = ["--stage1", str(s1), "--stage1-line", "e", "--stage1-until", "100", "--stage2", str(s2),
            "--chain", "x@200", "y", "-o", str(png), "--json", str(js)]
    assert mod.main(args) == 0
    data = json.loads(js.read_text())
    assert [p["iteration"] for p in data["stage1"]] == [0, 100]
    assert [p["iteration"] for p in data["stage1_after"]] == [200]  # the run's hours past it, in its trend
    assert data["tail"]["window_hours"] == 2.0 and data["tail"]["trends"]["stage1.gain_db"] is None  # 3 points
    assert [(p["branch"], p["iteration"]) for p in data["stage2"]] == [("x", 0), ("x", 100), ("x", 200),
                                                                       ("y", 300), ("y", 400)]
    assert [p["hours"] for p in data["stage2"]] == pytest.approx([1.0, 1.5, 2.0, 2.25, 2.75])
    assert png.stat().st_size > 1000
    capsys.readouterr()
    base = {"--stage1": str(s1), "--stage1-line": "e", "--stage1-until": "100", "--stage2": str(s2),
            "-o": str(png), "--json": str(js)}
    for change, chain, message in [({"--stage1-until": "150"}, ["x@200", "y"], "did not validate at iteration 150"),
                                   ({}, ["x@250", "y"], "branch 'x' did not validate at 250"),
                                   ({}, ["x", "y"], "expected LABEL@ITERATION"),
                                   ({}, ["x@200", "z"], "no branch 'z'"),
                                   ({"--stage1-line": "f"}, ["x@200", "y"], "no line 'f'"),
                                   ({"-o": str(tmp_path / "s2.png"), "--json": str(s2)}, ["x@200", "y"],
                                    "is the input")]:
        call = [a for k, v in {**base, **change}.items() for a in (k, v)] + ["--chain", *chain]
        assert mod.main(call) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert json.loads(s2.read_text())["x"]["run"] == "r1"  # the input was not replaced


def test_tail_trend_tells_improving_from_flat_from_worsening(monkeypatch):
    """A curve that keeps rising beyond its noise still improves (or worsens, where lower is better); one whose
    fitted change is within its scatter is flat; too few points give no verdict rather than a guess."""
    mod = _line_module(monkeypatch)
    wobble = [0.01, -0.01, 0.012, -0.008, 0.009, -0.011, 0.01, -0.012]
    rising = [{"hours": 0.25 * i, "v": 0.1 * i + w} for i, w in enumerate(wobble)]
    still = [{"hours": 0.25 * i, "v": 0.5 + w} for i, w in enumerate(wobble)]
    t = mod.tail_trend(rising, "v", 2.0, 1)
    assert t["verdict"] == "improving" and t["slope_per_hour"] == pytest.approx(0.4, abs=0.02) and t["points"] == 8
    assert mod.tail_trend(rising, "v", 2.0, -1)["verdict"] == "worsening"
    assert mod.tail_trend(still, "v", 2.0, 1)["verdict"] == "flat"
    assert mod.tail_trend(rising, "v", 0.6, 1) is None  # three points in the last 0.6 h
    gap = [*still[:5], {"hours": 1.25, "v": None}, *still[6:]]
    assert mod.tail_trend(gap, "v", 2.0, 1)["points"] == 7  # a value not measured is not a zero
    blown = [*still[:5], {"hours": 1.25, "v": float("nan")}, *still[6:7], {"hours": 1.75, "v": float("inf")}]
    assert mod.tail_trend(blown, "v", 2.0, 1)["verdict"] == "flat"  # a diverged value does not decide the verdict
    same_hour = [{"hours": 1.0, "v": w} for w in wobble]
    assert mod.tail_trend(same_hour, "v", 2.0, 1) is None  # no hours covered: no trend


def test_line_figure_of_the_committed_egvsr_line(tmp_path, monkeypatch):
    """The committed JSON files hold the chain the journal's figure is drawn from."""
    mod = _line_module(monkeypatch)
    results = PLOT.parent / "results"
    assert mod.main(["--stage1", str(results / "lines_vs_hours.json"), "--stage1-line", "egvsr", "--stage1-until",
                     "4050", "--stage2", str(results / "stage2_search.json"), "--chain", "g05pp2@11700",
                     "g05pp4@14700", "-o", str(tmp_path / "e.png"), "--json", str(tmp_path / "e.json")]) == 0
    data = json.loads((tmp_path / "e.json").read_text())
    hours = [p["hours"] for p in data["stage2"]]
    assert all(a < b for a, b in zip(hours, hours[1:], strict=False)) and hours[0] == data["stage1"][-1]["hours"]
    assert all(t is not None for t in data["tail"]["trends"].values())
