"""The README's results table: our measured models vs OpenCV bicubic, then the published EGVSR / TecoGAN figures.

    python benchmarks/make_readme_results.py                   # the committed reports (full, quick, vespcn)
    python benchmarks/make_readme_results.py --run             # first run `edgevsr report --quick` into report-quick
    python benchmarks/make_readme_results.py --report R.json [--report S.json]   # any reports, merged

Writes benchmarks/results/readme_results.md (+ .json) and prints the Markdown. "vs bicubic-bd" is the fair
baseline on BD x4 input (bicubic on the degradation's sampling grid); "vs OpenCV bicubic" is what a user gets
with cv2.resize.
Part 1 is read from an `edgevsr report` JSON: every figure there was measured by
that run (its command and machine are printed with it). Part 2 is the published
figures, quoted as published, on another evaluation set (Vid4): never mixed
into part 1 and not directly comparable with it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
QUICK = RESULTS / "report-quick"
DEFAULT_REPORTS = [RESULTS / "report-full" / "report.json", QUICK / "report.json",
                   RESULTS / "report-vespcn" / "report.json"]

# Vid4, BD degradation, x4, as computed by the TecoGAN / EGVSR evaluation code; quoted, not measured by us.
PUBLISHED = {
    "source": "EGVSR repository records (github.com/Thmen/EGVSR; Cao et al., 'Real-Time Super-Resolution System of "
              "4K-Video Based on Deep Learning', ASAP 2021) and TecoGAN (Chu et al., 'Learning Temporal Coherence "
              "via Self-Supervision for GAN-based Video Generation', ACM TOG 2020)",
    "dataset": "Vid4, BD x4",
    "rows": [
        {"model": "EGVSR (repo records)", "psnr_y": 25.84, "ssim_y": 0.796, "lpips": 0.138, "tof": 0.188,
         "tlp100": 0.447},
        {"model": "TecoGAN (PyTorch re-implementation)", "psnr_y": 26.01, "ssim_y": 0.803, "lpips": 0.152,
         "tof": 0.194, "tlp100": 0.515},
        {"model": "TecoGAN (official)", "psnr_y": 25.89, "ssim_y": None, "lpips": 0.174, "tof": 0.208,
         "tlp100": 0.718},
    ],
    "cost": "EGVSR: 2.51 M parameters; 463.7 GMAC per frame at 960x540 -> 3840x2160 (~116 GMAC at 480x270). "
            "Its claimed 29.61 FPS at 4K on an RTX 2080 Ti exceeds that card's FP32 peak; users measure ~8 FPS.",
}
METRICS = ("psnr_y", "ssim_y", "lpips", "tof", "tlp100")
DIGITS = {"psnr_y": 2, "ssim_y": 3, "lpips": 3, "tof": 3, "tlp100": 3}


def fmt(v, d: int = 2) -> str:
    return "-" if v is None else f"{v:.{d}f}"


def signed_db(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{0.0 if abs(v) < 0.005 else v:+.2f} dB"


def measured_rows(report: dict) -> list[dict]:
    """Measured (device, model, precision, backend) rows with FPS per size, quality and the OpenCV comparison.

    Devices are split per evaluation set (``with_panels``), so a model is only compared with baselines scored on
    the same frames."""
    from edgevsr.deploy.report.rows import with_panels

    report = with_panels(report)
    sizes: list[str] = []
    rows: dict[tuple, dict] = {}
    for c in report["cells"]:
        if c["status"] != "measured":
            continue
        if c["size"] not in sizes:
            sizes.append(c["size"])
        k = (c["device"], c["model"], c["precision"], c["backend"])
        q = c.get("quality") or {}
        vs_fp32 = ("reference" if q.get("is_fp32_reference") else "identical" if q.get("identical_to_fp32")
                   else fmt((q.get("vs_fp32") or {}).get("psnr_y")))
        precision = c["precision"]
        if c.get("onnx_precision") and c["onnx_precision"] != precision:
            precision += f" (file: {c['onnx_precision']}, {c.get('int8_groups')} groups INT8)"
        r = rows.setdefault(k, {"device": c["device"], "model": c["model"], "precision": precision,
                                "backend": c["backend"], "trained": c.get("trained", True), "fps": {},
                                "quality": q.get("vs_gt"), "psnr_vs_fp32": vs_fp32})
        r["fps"][c["size"]] = c["speed"]["fps"]
    sizes.sort(key=lambda s: int(s.split("x")[0]) * int(s.split("x")[1]))
    out = list(rows.values())
    for r in out:
        base = next((b for b in rows.values() if b["device"] == r["device"] and b["model"] == "opencv-bicubic"), None)
        bd = next((b for b in rows.values() if b["device"] == r["device"] and b["model"] == "bicubic-bd"
                   and b["quality"]), None)
        r["psnr_gain_vs_opencv"] = (r["quality"]["psnr_y"] - base["quality"]["psnr_y"]
                                    if base and base["quality"] and r["quality"] else None)
        r["psnr_gain_vs_bicubic_bd"] = (r["quality"]["psnr_y"] - bd["quality"]["psnr_y"]
                                        if bd and r["quality"] else None)
        r["fps_ratio_vs_opencv"] = {s: r["fps"][s] / base["fps"][s] for s in r["fps"]
                                    if base and s in base["fps"]}
    return sorted(out, key=lambda r: (r["device"], r["model"] != "opencv-bicubic", r["model"], r["precision"],
                                      r["backend"])), sizes


def markdown(report: dict, sources: list[Path], commands: list[str]) -> str:
    from edgevsr.deploy.provenance import threads_text
    from edgevsr.deploy.report.merge import eval_sets

    rows, sizes = measured_rows(report)
    lines = ["### Measured by edgevsr", ""]
    lines.append("From " + ", ".join(f"`{s}`" for s in sources) + "; evaluation sets: "
                 + "; ".join(eval_sets(report).values()) + ".")
    for c in commands:
        lines.append(f"Command: {c}.")
    for env in report["machines"].values():
        gpu = env.get("jetson") or env.get("gpu") or "no GPU"
        omp = f", OMP_WAIT_POLICY={env['omp_wait_policy']}" if env.get("omp_wait_policy") else ""
        lines.append(f"Machine: {env.get('cpu')} ({threads_text(env)}{omp}), {gpu}; torch "
                     f"{env.get('torch')}, onnxruntime {env.get('onnxruntime')}.")
    lines.append("")
    head = (["device", "model", "precision", "backend"] + [f"FPS {s}" for s in sizes]
            + ["PSNR-Y", "SSIM", "LPIPS", "tOF", "tLP100", "PSNR-Y vs OpenCV bicubic", "PSNR-Y vs bicubic-bd",
               "PSNR-Y vs own FP32"])
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        q = r["quality"] or {}
        fps = [fmt(r["fps"].get(s)) for s in sizes]
        qual = [fmt(q.get(m), DIGITS[m]) for m in METRICS] if q else ["not measured: no trained weights"] + [""] * 4
        gain, gain_bd = signed_db(r["psnr_gain_vs_opencv"]), signed_db(r["psnr_gain_vs_bicubic_bd"])
        row = [r["device"], r["model"], r["precision"], r["backend"], *fps, *qual, gain, gain_bd, r["psnr_vs_fp32"]]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"### Published (quoted, not measured here; {PUBLISHED['dataset']})", ""]
    lines += ["| model | PSNR-Y | SSIM | LPIPS | tOF | tLP100 |", "|---|---|---|---|---|---|"]
    for r in PUBLISHED["rows"]:
        lines.append("| " + " | ".join([r["model"], *[fmt(r[m], DIGITS[m]) for m in METRICS]]) + " |")
    lines += ["", f"Sources: {PUBLISHED['source']}. {PUBLISHED['cost']}",
              "The published figures are on Vid4; ours are on the evaluation set named above, so the two tables "
              "are not directly comparable.", ""]
    return "\n".join(lines)


def _relative(path: Path) -> Path:
    """Paths as the repository names them (the table is committed; absolute paths say nothing elsewhere)."""
    try:
        return path.resolve().relative_to(Path(__file__).resolve().parents[1])
    except ValueError:
        return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", type=Path, action="append", help="report.json of `edgevsr report` (repeatable)")
    ap.add_argument("--run", action="store_true", help="run `edgevsr report --quick` into report-quick first")
    args = ap.parse_args()
    if args.run:
        subprocess.run([sys.executable, "-m", "edgevsr.cli.main", "report", "--quick", "-o",
                        str(QUICK)], check=True)
    from edgevsr.deploy.report.merge import load_report, merge_reports, report_commands

    files = args.report or [p for p in DEFAULT_REPORTS if p.is_file()]
    loaded = [load_report(p) for p in files]
    paths = [_relative(p) for p in files]
    report = merge_reports(loaded, [str(p) for p in paths]) if len(loaded) > 1 else loaded[0]
    commands = [f"`{c}` (commit {(next(iter(r['machines'].values())).get('commit') or '?')[:10]})"
                for r in loaded for c in report_commands(r)]
    text = markdown(report, paths, commands)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "readme_results.md").write_text(text)
    rows, sizes = measured_rows(report)
    (RESULTS / "readme_results.json").write_text(json.dumps(
        {"reports": [str(p) for p in paths], "sizes": sizes, "measured": rows, "published": PUBLISHED}, indent=1))
    print(text)
    print(f"wrote {RESULTS / 'readme_results.md'}")


if __name__ == "__main__":
    main()
