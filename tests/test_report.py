"""`edgevsr report`: real sweeps on tiny inputs (resume from the cache after an interruption, schema of the
JSON / CSV, quality vs GT and vs FP32, untrained models timed only), the Pareto front on known points,
merging two machines' runs, and the HTML rendered by headless Chromium with every image present."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from conftest import moving_clip

from edgevsr.deploy.report.cache import ResultCache
from edgevsr.deploy.report.config import NO_WEIGHTS, SCHEMA, SweepConfig, plan_cells
from edgevsr.deploy.report.findings import pareto_front
from edgevsr.deploy.report.markdown import render_markdown
from edgevsr.deploy.report.merge import load_report, merge_reports
from edgevsr.deploy.report.render import render_all
from edgevsr.deploy.report.sweep import run_sweep
from edgevsr.deploy.report.tables import CSV_COLUMNS, write_json
from edgevsr.errors import EdgeVSRError
from edgevsr.weights import default_weights

TINY = dict(models=["opencv-bicubic", "bicubic", "espcn"], precisions=["fp32", "int8"],
            backends=["opencv-cpu", "torch-cpu", "onnxruntime-cpu", "tensorrt"], sizes=[(64, 48), (96, 64)],
            frames=2, warmup=1, eval_frames=3, eval_size=(96, 64), calib_frames=2,
            threads=2)  # explicit: other test modules leave torch at 1 thread (the second machine's id)


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A sweep interrupted after 3 measured cells, then run again to the end in the same folder."""
    out = tmp_path_factory.mktemp("report")
    first: list[dict] = []

    def stop_after_three(cell: dict) -> None:
        if cell["status"] == "measured":
            first.append(cell)
            if len(first) == 3:
                raise Stop

    with pytest.raises(Stop):
        run_sweep(SweepConfig(**TINY), out, on_cell=stop_after_three)
    report = run_sweep(SweepConfig(**TINY), out, command="pytest")
    return out, first, report


def by_key(report: dict) -> dict[str, dict]:
    return {c["key"]: c for c in report["cells"]}


def test_interrupted_sweep_resumes_from_cache(swept):
    out, first, report = swept
    cells = by_key(report)
    assert len(cells) == len(plan_cells(SweepConfig(**TINY)))
    for c in first:  # measured before the interruption: loaded, not measured again
        again = cells[c["key"]]
        assert again["cached"] is True
        assert again["speed"] == c["speed"]
    measured = [c for c in report["cells"] if c["status"] == "measured"]
    fresh = [c for c in measured if not c["cached"]]
    assert report["stats"]["cached"] == 3 and report["stats"]["measured"] == len(fresh) == len(measured) - 3
    assert len(list((out / "cache" / "speed").glob("*.json"))) == len(measured)


def test_cells_have_real_measurements(swept):
    _, _, report = swept
    cells = by_key(report)
    cv = cells["opencv-bicubic|fp32|opencv-cpu|64x48"]
    tb = cells["bicubic|fp32|torch-cpu|64x48"]
    ob = cells["bicubic|fp32|onnxruntime-cpu|96x64"]
    for c in (cv, tb, ob):
        assert c["status"] == "measured" and c["speed"]["fps"] > 0
        assert c["speed"]["latency_ms"]["p90"] >= c["speed"]["latency_ms"]["median"] > 0
        assert c["speed"]["peak_mib"] > 0
        assert c["output_size"] in ("256x192", "384x256")
    # both bicubic interpolations score alike on the real photo clip (a broken model would not)
    assert 20 < cv["quality"]["vs_gt"]["psnr_y"] < 40
    assert abs(cv["quality"]["vs_gt"]["psnr_y"] - tb["quality"]["vs_gt"]["psnr_y"]) < 0.3
    assert 0 < cv["quality"]["vs_gt"]["lpips"] < 1 and cv["quality"]["vs_gt"]["tof"] > 0
    # FP32 torch is the reference; ONNX Runtime FP32 is (nearly) identical to it
    assert tb["quality"]["is_fp32_reference"]
    vs = ob["quality"]["vs_fp32"]
    assert ob["quality"]["identical_to_fp32"] or vs["psnr_y"] > 50
    # speed per size, quality once per (model, precision, backend)
    assert cells["bicubic|fp32|torch-cpu|96x64"]["quality"] == tb["quality"]
    assert cells["bicubic|fp32|torch-cpu|96x64"]["speed"] != tb["speed"]


def test_not_measured_cells_say_why(swept):
    _, _, report = swept
    cells = by_key(report)
    if not torch.cuda.is_available():
        assert cells["bicubic|fp32|tensorrt|64x48"]["reason"] == "not measured: no GPU"
    assert cells["bicubic|int8|onnxruntime-cpu|64x48"]["status"] == "not measured"
    assert "no weights to quantize" in cells["bicubic|int8|onnxruntime-cpu|64x48"]["reason"]
    assert "espcn|int8|torch-cpu|64x48" not in cells  # torch has no INT8: not a cell at all
    es = cells["espcn|fp32|torch-cpu|64x48"]
    assert es["status"] == "measured" and es["speed"]["fps"] > 0
    if default_weights("espcn") is None:
        assert es["trained"] is False and es["quality"] is None and es["quality_note"] == NO_WEIGHTS
        # INT8 of an untrained model is timed too (speed does not depend on weight values)
        int8 = cells["espcn|int8|onnxruntime-cpu|64x48"]
        assert int8["status"] == "measured" and int8["onnx_precision"] == "int8"
        done, total = int8["int8_groups"].split("/")
        assert done == total and int(total) >= 2  # every layer group in INT8


def test_json_and_csv_schema(swept):
    out, _, report = swept
    written = render_all(report, out)
    data = json.loads(written["json"].read_text())
    assert data["schema"] == SCHEMA and len(data["cells"]) == len(report["cells"])
    assert set(data["machines"]) == {c["machine"] for c in data["cells"]}
    with open(written["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == len(report["cells"])
    for r in rows:
        if r["status"] == "measured":
            assert float(r["fps"]) > 0 and float(r["latency_median_ms"]) > 0
        else:
            assert r["fps"] == "" and r["reason"]
    md = written["markdown"].read_text()
    assert "| opencv-bicubic | fp32 | opencv-cpu |" in md and "FPS 96x64" in md
    # INT8 against FP32 of the same model and backend: the speed-up is read off the two measured cells
    trade = [x for x in md.splitlines() if x.startswith("| CPU") and "| espcn | onnxruntime-cpu | int8" in x]
    assert len(trade) == 1
    cells = by_key(report)
    ratio = (cells["espcn|int8|onnxruntime-cpu|64x48"]["speed"]["fps"]
             / cells["espcn|fp32|onnxruntime-cpu|64x48"]["speed"]["fps"])
    assert f"{ratio:.2f}x" in trade[0]
    assert load_report(written["json"])["cells"] == data["cells"]


def test_pareto_front_on_known_points():
    # (fps, lpips): (10, .1) best quality, (100, .3) fastest, (50, .2) between; (40, .25) and (5, .4) dominated
    pts = [(10, 0.1), (40, 0.25), (100, 0.3), (50, 0.2), (5, 0.4)]
    assert pareto_front(pts) == [0, 3, 2]
    # higher-is-better metric (PSNR): (10, 30) best, (100, 25) fastest, (50, 24) dominated by (100, 25)
    assert pareto_front([(10, 30.0), (50, 24.0), (100, 25.0)], lower_is_better=False) == [0, 2]
    assert pareto_front([(1, 1.0), (1, 1.0)]) == [0, 1]  # equal points both stay
    assert pareto_front([]) == []
    # within the tolerance two scores tie, so the faster point dominates (same model, two backends)
    assert pareto_front([(7.0, 0.219700), (48.0, 0.219701)], tol=1e-4) == [1]
    assert pareto_front([(7.0, 0.219700), (48.0, 0.219701)]) == [0, 1]


def test_cache_key_must_match(tmp_path):
    cache = ResultCache(tmp_path)
    key = {"model": "egvsr", "size": "64x48", "frames": 2}
    cache.put("speed", "egvsr_64x48", key, {"fps": 3.0})
    assert cache.get("speed", "egvsr_64x48", key) == {"fps": 3.0}
    assert cache.get("speed", "egvsr_64x48", {**key, "frames": 3}) is None
    torn = next((tmp_path / "speed").glob("*.json"))
    torn.write_text('{"key": ')  # a crash mid-write of an older version: measured again, not a crash
    assert cache.get("speed", "egvsr_64x48", key) is None


@pytest.fixture(scope="module")
def second_machine(tmp_path_factory):
    """A real second run with other settings (1 thread = another machine id) on an --eval-data folder."""
    root = tmp_path_factory.mktemp("second")
    gt = root / "GT"
    for name, seed in (("seqA", 0), ("seqB", 7)):
        (gt / name).mkdir(parents=True)
        for i, f in enumerate(moving_clip(3, 64, 96, seed)):
            cv2.imwrite(str(gt / name / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    cfg = SweepConfig(models=["opencv-bicubic", "bicubic"], precisions=["fp32"], backends=["opencv-cpu", "torch-cpu"],
                      sizes=[(64, 48)], frames=2, warmup=1, eval_data=gt, eval_frames=3, threads=1)
    old = torch.get_num_threads()
    try:
        report = run_sweep(cfg, root / "out")
    finally:
        torch.set_num_threads(old)
    return report


def test_eval_data_folder(second_machine):
    cells = by_key(second_machine)
    q = cells["bicubic|fp32|torch-cpu|64x48"]["quality"]
    cv = cells["opencv-bicubic|fp32|opencv-cpu|64x48"]["quality"]
    assert q["sequences"] == 2 and q["frames"] == 6 and 12 < q["vs_gt"]["psnr_y"] < 40
    assert abs(q["vs_gt"]["psnr_y"] - cv["vs_gt"]["psnr_y"]) < 0.3
    assert "2 sequence(s)" in second_machine["eval"]["description"]


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """``edgevsr ARGS`` in this process (same entry point: errors become one line and exit code 2)."""
    from edgevsr.cli.main import main

    old = sys.argv
    sys.argv = ["edgevsr", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


def test_merge_two_machines(swept, second_machine, tmp_path, capsys):
    out, _, report = swept
    merged = merge_reports([report, second_machine], ["a.json", "b.json"])
    assert len(merged["machines"]) == 2
    assert len(merged["cells"]) == len(report["cells"]) + len(second_machine["cells"])
    assert "warning" in merged["eval"]  # different evaluation sets are flagged, not silently mixed
    devices = {c["device"] for c in merged["cells"] if c["status"] == "measured"}
    assert len(devices) == 2
    md = render_markdown(merged)
    assert all(f"## {d}" in md for d in devices)
    made_by = [r["command"] for r in (report, second_machine) if r.get("command")]
    assert made_by
    assert merged["source_commands"] == made_by and all(c in md for c in made_by)  # how each part was made
    # the CLI does the same from files
    write_json(report, tmp_path / "a.json")
    write_json(second_machine, tmp_path / "b.json")
    code, err = run_cli(["report", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                         "-o", str(tmp_path / "merged")], capsys)
    assert code == 0, err
    data = load_report(tmp_path / "merged" / "report.json")
    assert len(data["machines"]) == 2 and len(data["merged_from"]) == 2
    assert len(list((tmp_path / "merged").glob("*.png"))) == 4  # quality-vs-FPS + FPS plot per device


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text('{"schema": "edgevsr.profile/1", "runs": []}')
    for args, words in ((["report", "--models", "nope", "-o", str(tmp_path)], "unknown model"),
                        (["report", "merge", str(tmp_path / "missing.json"), "-o", str(tmp_path)], "not found"),
                        (["report", "merge", str(other), "-o", str(tmp_path)], "not an edgevsr report"),
                        (["report", "--weights", "bicubic", "-o", str(tmp_path)], "MODEL=PATH")):
        code, err = run_cli(args, capsys)
        assert code == 2, (args, err)
        assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_config_validation():
    with pytest.raises(EdgeVSRError, match="--precisions"):
        SweepConfig(precisions=["int4"]).validate()
    with pytest.raises(EdgeVSRError, match="eval"):
        SweepConfig(eval_frames=1).validate()
    for n in (0, -1):  # -1 reached torch.set_num_threads (an internal error), 0 was taken as "not given"
        with pytest.raises(EdgeVSRError, match=f"--threads {n}: must be"):
            SweepConfig(threads=n).validate()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_renders_in_headless_chromium(swept, second_machine, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    merged = merge_reports([swept[2], second_machine])
    written = render_all(merged, tmp_path / "html")
    page = written["html"].resolve()
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained: opens offline
    assert text.count("src='data:image/png;base64,") == 4
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    shot = tmp_path / "shot.png"
    r = subprocess.run([exe, *flags, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert shot.is_file(), r.stderr[-2000:]
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[0] >= 2000 and img.shape[1] >= 1300
    assert float(np.std(img)) > 10  # not a blank page
    dom = subprocess.run([exe, *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'data-images-loaded="4"' in dom and 'data-images-broken="0"' in dom


def test_given_onnx_used_only_with_matching_weights(tmp_path):
    """`--onnx FILE` (an `edgevsr quantize` output) replaces the report's own export, if made from its weights."""
    from edgevsr.deploy.report.cache import file_digest
    from edgevsr.quantize.export import save_onnx
    from edgevsr.quantize.reference import load_reference

    for seed, name in ((0, "same.onnx"), (1, "other.onnx")):  # the report seeds untrained weights with 0
        torch.manual_seed(seed)
        proto, _, _ = load_reference("espcn", None, None, allow_random=True)
        save_onnx(proto, tmp_path / name)
    base = dict(models=["espcn"], precisions=["fp32"], backends=["onnxruntime-cpu"], sizes=[(32, 24)], frames=1,
                warmup=1, eval_frames=2, eval_size=(64, 48))
    ok = run_sweep(SweepConfig(**base, onnx=[tmp_path / "same.onnx"]), tmp_path / "a")["cells"][0]
    assert ok["status"] == "measured" and ok["onnx_hash"] == file_digest(tmp_path / "same.onnx")
    bad = run_sweep(SweepConfig(**base, onnx=[tmp_path / "other.onnx"]), tmp_path / "b")["cells"][0]
    assert bad["status"] == "failed" and "other weights" in bad["reason"]
    assert not (tmp_path / "b" / "cache" / "onnx").exists()  # nothing exported behind the user's back


@pytest.mark.gpu
def test_gpu_cells_measured_where_a_gpu_exists(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: GPU cells are listed as 'not measured: no GPU' (checked above)")
    cfg = SweepConfig(models=["bicubic-bd"], precisions=["fp32", "fp16"], backends=["torch-cuda"], sizes=[(64, 48)],
                      frames=3, warmup=2, eval_frames=3, eval_size=(96, 64))
    cells = by_key(run_sweep(cfg, tmp_path))
    for p in ("fp32", "fp16"):
        c = cells[f"bicubic-bd|{p}|torch-cuda|64x48"]
        assert c["status"] == "measured" and c["device"].startswith("GPU: ") and c["speed"]["fps"] > 0
        assert c["quality"]["vs_fp32"]["psnr_y"] is None or c["quality"]["vs_fp32"]["psnr_y"] > 40


def test_reasons_for_cells_this_machine_cannot_run():
    import importlib.util

    import onnxruntime as ort

    from edgevsr.deploy.report.config import CPU_FP16
    from edgevsr.deploy.report.measure import unavailable

    assert unavailable("tensorrt", "int8", has_cuda=False) == "not measured: no GPU"
    assert unavailable("torch-cpu", "fp16", has_cuda=False) == CPU_FP16
    assert unavailable("onnxruntime-cpu", "fp16", has_cuda=False) is None
    if importlib.util.find_spec("tensorrt") is None:  # a GPU without TensorRT says so, it does not fail
        assert unavailable("tensorrt", "fp32", has_cuda=True) == "not measured: TensorRT is not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert "onnxruntime-gpu" in unavailable("onnxruntime-cuda", "fp32", has_cuda=True)


def test_merged_runs_on_other_eval_sets_stay_apart():
    """Two runs of one machine on different evaluation sets: separate rows, never one averaged row."""
    from edgevsr.deploy.report.rows import summary_rows, with_panels

    def cell(eval_id: str, psnr: float) -> dict:
        return {"machine": "m", "device": "CPU: x", "model": "vespcn", "precision": "fp32", "backend": "torch-cpu",
                "key": "vespcn|fp32|torch-cpu|64x48", "size": "64x48", "status": "measured", "eval": eval_id,
                "speed": {"fps": 1.0}, "quality": {"vs_gt": {"psnr_y": psnr}, "eval": eval_id}}

    report = {"cells": [cell("aaaaaaaa", 30.0), cell("bbbbbbbb", 25.0)]}
    rows = summary_rows(report)
    assert len(rows) == 2 and {r["quality"]["vs_gt"]["psnr_y"] for r in rows} == {30.0, 25.0}
    assert {c["device"] for c in with_panels(report)["cells"]} == {"CPU: x - eval set aaaaaa",
                                                                    "CPU: x - eval set bbbbbb"}
    one = {"cells": [cell("aaaaaaaa", 30.0)]}
    assert with_panels(one) is one  # one evaluation set per device: labels unchanged


def test_merge_keeps_one_machines_runs_on_two_eval_sets(swept, second_machine):
    """Same machine, same cell key, other evaluation set: both cells stay (only a true repeat is replaced)."""
    report = swept[2]
    other = {**second_machine, "machines": report["machines"],
             "cells": [{**c, "machine": next(iter(report["machines"]))} for c in second_machine["cells"]]}
    merged = merge_reports([report, other])
    key = "opencv-bicubic|fp32|opencv-cpu|64x48"
    assert len([c for c in merged["cells"] if c["key"] == key]) == 2
    again = merge_reports([report, report])
    assert len(again["cells"]) == len(report["cells"])
