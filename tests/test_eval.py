"""`edgevsr eval` end to end on small real frame folders: matching, cropping, model runs, the quality gate."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, moving_clip
from typer.testing import CliRunner

from edgevsr.backends.registry import RunnerConfig, make_runner
from edgevsr.errors import EdgeVSRError
from edgevsr.quality import lpips as L
from edgevsr.quality import metrics as M
from edgevsr.quality.evaluate import evaluate_model, evaluate_outputs
from edgevsr.quality.gate import QualityBudget, quality_gate
from edgevsr.quality.scorer import EvalOptions, EvalWarning, Scorer


def _independent():
    """The PIL/numpy re-derivation of BD + bicubic + PSNR-Y in benchmarks/ (no edgevsr code)."""
    spec = importlib.util.spec_from_file_location("verify_eval_psnr", ROOT / "benchmarks" / "verify_eval_psnr.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_seq(folder: Path, frames: list[np.ndarray], names: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        name = names[i] if names else f"{i:04d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def scorer():
    try:
        L.load_lpips()
    except EdgeVSRError as exc:
        pytest.skip(f"LPIPS weights unavailable: {exc}")
    return Scorer()


@pytest.fixture
def dataset(tmp_path) -> Path:
    """DATASET/GT/{a,b}/ of short moving clips."""
    write_seq(tmp_path / "data" / "GT" / "a", moving_clip(4, 48, 64, seed=1))
    write_seq(tmp_path / "data" / "GT" / "b", moving_clip(3, 48, 64, seed=2))
    return tmp_path / "data"


def test_identical_outputs_score_perfect(tmp_path, dataset, scorer):
    out = tmp_path / "out"
    for seq in ("a", "b"):
        write_seq(out / seq, [cv2.imread(str(p))[..., ::-1] for p in sorted((dataset / "GT" / seq).iterdir())])
    ds = evaluate_outputs(out, dataset, scorer)
    assert [s.name for s in ds.sequences] == ["a", "b"]
    mean = ds.mean()
    assert mean["psnr_y"] == math.inf
    assert mean["ssim_y"] == pytest.approx(1.0)
    assert mean["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert mean["tof"] == 0.0 and mean["tlp100"] == pytest.approx(0.0, abs=1e-4)
    first = ds.sequences[0].frames[0]
    assert first["tof"] is None and first["tlp100"] is None  # no previous frame
    assert len(ds.sequences[0].frames) == 4 and len(ds.sequences[1].frames) == 3


def test_frames_matched_in_natural_order(tmp_path, scorer):
    clip = moving_clip(10, 32, 48, seed=3)
    gt = write_seq(tmp_path / "gt" / "s", clip, [f"im{i + 1}.png" for i in range(10)])
    write_seq(tmp_path / "out" / "s", clip, [f"{i + 1:03d}.png" for i in range(10)])
    ds = evaluate_outputs(tmp_path / "out", gt.parent, Scorer(EvalOptions(lpips=False)))
    frames = ds.sequences[0].frames
    assert [f["name"] for f in frames] == [f"im{i + 1}.png" for i in range(10)]
    assert all(f["psnr_y"] == math.inf for f in frames)  # im10 paired with 010, not with 002


def test_size_mismatch_cropped_top_left_with_warning(tmp_path):
    clip = moving_clip(3, 40, 56, seed=4)
    write_seq(tmp_path / "gt" / "s", clip)
    bigger = [cv2.copyMakeBorder(f, 0, 3, 0, 2, cv2.BORDER_CONSTANT, value=(255, 0, 0)) for f in clip]
    write_seq(tmp_path / "out" / "s", bigger)
    with pytest.warns(EvalWarning, match="common top-left 56x40"):
        ds = evaluate_outputs(tmp_path / "out", tmp_path / "gt", Scorer(EvalOptions(lpips=False)))
    assert ds.mean()["psnr_y"] == math.inf
    assert ds.sequences[0].warnings


def test_count_mismatch_and_missing_sequence_are_user_errors(tmp_path):
    clip = moving_clip(4, 32, 48)
    write_seq(tmp_path / "gt" / "s", clip)
    write_seq(tmp_path / "gt" / "t", clip)
    write_seq(tmp_path / "out" / "s", clip[:3])
    opts = Scorer(EvalOptions(lpips=False, tof=False))
    with pytest.raises(EdgeVSRError, match="gt go on; frame counts must match"):
        evaluate_outputs(tmp_path / "out", tmp_path / "gt", opts)
    write_seq(tmp_path / "out" / "s", clip)
    with pytest.raises(EdgeVSRError, match="no output for sequence 't'"):
        evaluate_outputs(tmp_path / "out", tmp_path / "gt", opts)


def test_lpips_and_tlp_independent_of_batching(tmp_path, scorer):
    gt = moving_clip(5, 48, 64, seed=5)
    out = [cv2.GaussianBlur(f, (0, 0), 1.2) for f in gt]
    runs = []
    for pixels in (1, 10**9):  # one frame per LPIPS batch / all frames in one batch
        s = Scorer(EvalOptions(lpips_pixels=pixels))
        s._lpips = scorer.lpips
        runs.append(s.score_sequence("s", {"out": out, "gt": gt}, [("out", "gt")])[("out", "gt")].frames)
    for a, b in zip(*runs, strict=True):
        assert a["lpips"] == pytest.approx(b["lpips"], abs=1e-5)
        assert (a["tlp100"] is None) == (b["tlp100"] is None)
        if a["tlp100"] is not None:
            assert a["tlp100"] == pytest.approx(b["tlp100"], abs=1e-3)
    # tLP from its definition with plain LPIPS calls
    d_gt = L.lpips_frames(scorer.lpips, gt[:-1], gt[1:])
    d_out = L.lpips_frames(scorer.lpips, out[:-1], out[1:])
    expect = 100 * np.abs(d_gt - d_out)
    np.testing.assert_allclose([f["tlp100"] for f in runs[0][1:]], expect, atol=1e-3)
    np.testing.assert_allclose([f["lpips"] for f in runs[0]], L.lpips_frames(scorer.lpips, out, gt), atol=1e-5)
    assert runs[0][2]["tof"] == pytest.approx(M.tof(out[1], out[2], gt[1], gt[2]))


def test_bicubic_model_run_matches_independent_computation(tmp_path, scorer):
    ind = _independent()
    clip = moving_clip(3, 64, 96, seed=6)
    gt_dir = write_seq(tmp_path / "GT" / "clip", clip)
    runner, _ = make_runner(RunnerConfig(model="bicubic"))
    ds = evaluate_model(runner, tmp_path, degrade="BD", scorer=scorer, save_dir=tmp_path / "saved")
    expect = [ind.psnr_y(ind.bicubic_x4(ind.bd_degrade(f)), f) for f in clip]
    got = [f["psnr_y"] for f in ds.sequences[0].frames]
    np.testing.assert_allclose(got, expect, atol=0.01)
    assert 15 < got[0] < 40
    saved = sorted((tmp_path / "saved" / "clip").iterdir())
    assert [p.name for p in saved] == [p.name for p in sorted(gt_dir.iterdir())]
    # the same through --lr-dir with independently degraded LR frames
    write_seq(tmp_path / "LR" / "clip", [ind.bd_degrade(f) for f in clip])
    ds2 = evaluate_model(runner, tmp_path, lr_dir=tmp_path / "LR", scorer=scorer)
    np.testing.assert_allclose([f["psnr_y"] for f in ds2.sequences[0].frames], got, atol=1e-6)
    with pytest.raises(EdgeVSRError, match="exactly one of"):
        evaluate_model(runner, tmp_path, scorer=scorer)


def _gate_clips():
    gt = moving_clip(4, 48, 64, seed=7)
    ref = [cv2.GaussianBlur(f, (0, 0), 0.8) for f in gt]
    cand = [cv2.GaussianBlur(f, (0, 0), 2.0) for f in gt]
    return gt, ref, cand


def test_quality_gate_function(scorer):
    gt, ref, cand = _gate_clips()
    tight = QualityBudget(max_lpips_increase=0.005, max_psnr_drop=0.1, min_psnr_vs_ref=40)
    r = quality_gate(cand, ref, gt, tight, scorer)
    assert not r.passed and all(not c.passed for c in r.checks)
    assert r.candidate.mean()["psnr_y"] < r.reference.mean()["psnr_y"]
    lpips_check = next(c for c in r.checks if c.budget == "max_lpips_increase")
    assert lpips_check.value == pytest.approx(r.candidate.mean()["lpips"] - r.reference.mean()["lpips"])
    loose = QualityBudget(max_lpips_increase=1.0, max_psnr_drop=20, min_psnr_vs_ref=10)
    assert quality_gate(cand, ref, gt, loose, scorer).passed
    same = quality_gate(ref, ref, gt, QualityBudget(max_lpips_increase=0.0, max_tof_increase=0.0,
                                                        max_psnr_drop=0.0, min_psnr_vs_ref=99), scorer)
    assert same.passed and same.vs_reference.mean()["psnr_y"] == math.inf
    # without ground truth only the vs-reference budgets can be checked
    assert not quality_gate(cand, ref, None, QualityBudget(min_psnr_vs_ref=60), scorer).passed
    with pytest.raises(EdgeVSRError, match="--max-tof-increase needs ground truth"):
        quality_gate(cand, ref, None, QualityBudget(max_tof_increase=0.1), scorer)


def test_cli_gate_exit_codes_json_and_compare(tmp_path, scorer):
    from edgevsr.cli.main import app

    gt, ref, cand = _gate_clips()
    write_seq(tmp_path / "GT" / "s", gt)
    write_seq(tmp_path / "ref" / "s", ref)
    write_seq(tmp_path / "cand" / "s", cand)
    cli = CliRunner()
    # --gt GT/ (not the dataset root): the JSON beside it would otherwise sit inside an input folder (refused)
    base = ["eval", str(tmp_path / "cand"), "--reference", str(tmp_path / "ref"), "--gt", str(tmp_path / "GT")]
    fail = cli.invoke(app, base + ["--max-lpips-increase", "0.005", "--json", str(tmp_path / "g.json")])
    assert fail.exit_code == 1, fail.output
    assert "EXCEEDED" in fail.output and "quality gate FAILED" in fail.output
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["passed"] is False and set(doc["results"]) == {"candidate vs gt", "reference vs gt",
                                                              "candidate vs reference"}
    ok = cli.invoke(app, base + ["--max-lpips-increase", "1", "--max-psnr-drop", "30", "--plot",
                                 str(tmp_path / "gate.png")])
    assert ok.exit_code == 0, ok.output
    assert "quality gate passed" in ok.output
    assert (tmp_path / "gate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name, outs in (("a.json", "ref"), ("b.json", "cand")):
        r = cli.invoke(app, ["eval", str(tmp_path / outs), "--gt", str(tmp_path / "GT"), "--json",
                             str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    a = json.loads((tmp_path / "a.json").read_text())["results"]["output vs gt"]["mean"]
    b = json.loads((tmp_path / "b.json").read_text())["results"]["output vs gt"]["mean"]
    cmp_ = cli.invoke(app, ["eval", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert cmp_.exit_code == 0, cmp_.output
    assert f"{b['psnr_y'] - a['psnr_y']:+.2f}" in cmp_.output


def test_cli_identical_prints_inf(tmp_path, scorer):
    from edgevsr.cli.main import app

    clip = moving_clip(2, 32, 48)
    write_seq(tmp_path / "GT" / "s", clip)
    write_seq(tmp_path / "out" / "s", clip)
    r = CliRunner().invoke(app, ["eval", str(tmp_path / "out"), "--gt", str(tmp_path), "--no-lpips"])
    assert r.exit_code == 0, r.output
    assert "inf" in r.output
