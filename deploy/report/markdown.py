"""summary.md: the report's tables as Markdown."""

from __future__ import annotations

from edgevsr.deploy.report import rows as R
from edgevsr.deploy.report.config import QUALITY_METRICS


def render_markdown(report: dict) -> str:
    report = R.with_panels(report)
    rows = R.summary_rows(report)
    sizes = rows[0]["sizes"] if rows else []
    lines = ["# edgevsr report", ""]
    lines.append(f"Evaluation set: {report['eval']['description']}. Quality vs ground truth; "
                 f"'vs FP32' = PSNR-Y against the {report['eval']['reference']}.")
    lines.append("")
    for device in dict.fromkeys(r["device"] for r in rows):
        lines.append(f"## {device}")
        lines.append("")
        mine = [r for r in rows if r["device"] == device]
        notes = {r["note"] for r in mine}
        if all("measured" not in r["status"] for r in mine) and len(notes) == 1:
            lines += [f"{len(mine)} model/precision/backend combinations: {notes.pop()}.", ""]
            continue
        head = ["model", "precision", "backend"] + [f"FPS {s}" for s in sizes] + \
               ["PSNR-Y", "SSIM", "LPIPS", "tOF", "tLP100", "PSNR-Y vs FP32", "note"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            if r["device"] != device:
                continue
            q = r["quality"] or {}
            gt = q.get("vs_gt") or {}
            cells = [r["model"], R.precision_text(r), r["backend"]] + [R.fmt(r["fps"].get(s)) for s in sizes]
            cells += [R.fmt(gt.get(m), R.DIGITS[m]) for m in QUALITY_METRICS]
            cells += [R.vs_fp32_text(q), r["note"] or ""]
            lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
        lines.append("")
    trade = R.tradeoff_rows(report)
    if trade:
        lines += ["## What each precision costs (vs FP32 of the same model and backend)", ""]
        head = ["device", "model", "backend", "precision"] + [f"speed-up {s}" for s in sizes] + \
               ["PSNR-Y vs FP32 output", "LPIPS vs FP32 output", "d PSNR-Y (GT)", "d LPIPS (GT)", "d tOF (GT)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in trade:
            cells = [r["device"], r["model"], r["backend"], R.precision_text(r)]
            cells += [f"{r['speedup'][s]:.2f}x" if s in r["speedup"] else "-" for s in sizes]
            cells += [R.fmt(r["vs_fp32"].get("psnr_y")), R.fmt(r["vs_fp32"].get("lpips"), 4),
                      R.delta_text(r["delta"]["psnr_y"], 2), R.delta_text(r["delta"]["lpips"], 4),
                      R.delta_text(r["delta"]["tof"], 3)]
            lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
        lines.append("")
    lines.append("Machines:")
    for env in report["machines"].values():
        lines.append(f"- {R.machine_line(env)}")
    if report.get("command"):
        lines += ["", f"Command: `{report['command']}`"]
    if report.get("source_commands"):
        lines += ["", "Merged from the reports made by:"] + [f"- `{c}`" for c in report["source_commands"]]
    lines.append("")
    return "\n".join(lines)
