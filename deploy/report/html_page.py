"""report.html: self-contained (plots embedded as base64 PNG, no external reference), opens offline."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from edgevsr.deploy.report import rows as R
from edgevsr.deploy.report.config import METRIC_LABELS, QUALITY_METRICS
from edgevsr.deploy.report.findings import findings

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}tr.nm td{color:#888}img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.note{color:#555;font-size:12px}.warn{color:#a00}code{background:#f4f4f4;padding:1px 3px}
#img-missing{display:none;color:#fff;background:#c00;padding:6px}
"""


# Marks the page when any embedded image fails to decode (a test reads these attributes).
_IMG_CHECK = """
<script>
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } else { bad++; }
  }
  document.body.setAttribute('data-images-loaded', ok);
  document.body.setAttribute('data-images-broken', bad);
  if (bad) { var m = document.getElementById('img-missing'); m.style.display = 'block';
             m.textContent = bad + ' image(s) failed to load'; }
});
</script>
"""


def _td(v, left: bool = False) -> str:
    return f"<td{' class=l' if left else ''}>{html.escape(str(v))}</td>"


def render_html(report: dict, plots: list[tuple[str, Path]]) -> str:
    report = R.with_panels(report)
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
             "<title>edgevsr report</title>", f"<style>{_CSS}</style></head><body>",
             "<div id=img-missing></div>", "<h1>edgevsr accuracy-vs-speed report</h1>"]
    meta = f"created {e(report['created'])}"
    if report.get("command"):
        meta += f" by <code>{e(report['command'])}</code>"
    if report.get("merged_from"):
        meta += " - merged from " + ", ".join(f"<code>{e(s)}</code>" for s in report["merged_from"])
    if report.get("source_commands"):
        meta += "; those were made by " + "; ".join(f"<code>{e(c)}</code>" for c in report["source_commands"])
    parts.append(f"<p class=note>{meta}</p>")
    parts.append("<h2>Findings</h2><ul>" + "".join(f"<li>{e(t)}</li>" for t in findings(report)) + "</ul>")
    ev = report["eval"]
    parts.append(f"<p class=note>Evaluation set: {e(ev['description'])}. Reference for 'vs FP32': "
                 f"{e(ev['reference'])}. {e(ev.get('calibration', ''))}.</p>")
    if ev.get("warning"):
        parts.append(f"<p class=warn>{e(ev['warning'])}</p>")
    parts.append("<h2>Plots</h2>")
    for caption, path in plots:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        parts.append(f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption class=note>{e(caption)}</figcaption></figure>")
    # summary table
    rows = R.summary_rows(report)
    sizes = rows[0]["sizes"] if rows else []
    parts.append("<h2>Summary (one row per model / precision / backend)</h2><table><tr>")
    heads = ["device", "model", "precision", "backend"] + [f"FPS {s}" for s in sizes] + \
        [METRIC_LABELS[m] for m in QUALITY_METRICS] + ["PSNR-Y vs FP32", "LPIPS vs FP32", "note"]
    parts.append("".join(f"<th class=l>{e(h)}</th>" if i < 4 or h == "note" else f"<th>{e(h)}</th>"
                         for i, h in enumerate(heads)) + "</tr>")
    for r in rows:
        q = r["quality"] or {}
        gt, ref = q.get("vs_gt") or {}, q.get("vs_fp32") or {}
        measured = "measured" in r["status"]
        tds = [_td(r["device"], True), _td(r["model"], True), _td(R.precision_text(r), True), _td(r["backend"], True)]
        tds += [_td(R.fmt(r["fps"].get(s))) for s in sizes]
        tds += [_td(R.fmt(gt.get(m), R.DIGITS[m])) for m in QUALITY_METRICS]
        tds += [_td(R.vs_fp32_text(q)),
                _td("reference" if q.get("is_fp32_reference") else R.fmt(ref.get("lpips"), 4)),
                _td(r["note"] or "", True)]
        parts.append(f"<tr{'' if measured else ' class=nm'}>" + "".join(tds) + "</tr>")
    parts.append("</table>")
    trade = R.tradeoff_rows(report)
    if trade:
        parts.append("<h2>What each precision costs (vs FP32 of the same model and backend)</h2><table><tr>")
        heads = ["device", "model", "backend", "precision"] + [f"speed-up {s}" for s in sizes] + \
            ["PSNR-Y vs FP32 output", "LPIPS vs FP32 output", "&Delta; PSNR-Y vs GT", "&Delta; LPIPS vs GT",
             "&Delta; tOF vs GT"]
        parts.append("".join(f"<th class=l>{h}</th>" for h in heads) + "</tr>")
        for r in trade:
            tds = [_td(r["device"], True), _td(r["model"], True), _td(r["backend"], True),
                   _td(R.precision_text(r), True)]
            tds += [_td(f"{r['speedup'][s]:.2f}x" if s in r["speedup"] else "-") for s in sizes]
            tds += [_td(R.fmt(r["vs_fp32"].get("psnr_y"))), _td(R.fmt(r["vs_fp32"].get("lpips"), 4)),
                    _td(R.delta_text(r["delta"]["psnr_y"], 2)), _td(R.delta_text(r["delta"]["lpips"], 4)),
                    _td(R.delta_text(r["delta"]["tof"], 3))]
            parts.append("<tr>" + "".join(tds) + "</tr>")
        parts.append("</table><p class=note>Speed-up = FPS / FPS of FP32 on the same backend and size. Quality "
                     "blank = not measured (no trained weights).</p>")
    # every cell
    parts.append("<h2>Every cell (speed per input size)</h2><table><tr>")
    cols = ["device", "model", "precision", "backend", "input", "output", "status", "FPS", "median ms", "p90 ms",
            "p99 ms", "peak MiB", "GFLOP/frame", "achieved GFLOP/s", "% of peak", "W", "FPS/W", "weights"]
    parts.append("".join(f"<th class=l>{e(h)}</th>" for h in cols) + "</tr>")
    for c in report["cells"]:
        sp = c.get("speed") or {}
        lat = sp.get("latency_ms") or {}
        status = c["status"] if c["status"] == "measured" else (c.get("reason") or c["status"])
        if c.get("cached"):
            status += " (cached)"
        tds = [_td(c["device"], True), _td(c["model"], True), _td(c["precision"], True), _td(c["backend"], True),
               _td(c["size"]), _td(c.get("output_size", "")), _td(status, True), _td(R.fmt(sp.get("fps"))),
               _td(R.fmt(lat.get("median"), 1)), _td(R.fmt(lat.get("p90"), 1)), _td(R.fmt(lat.get("p99"), 1)),
               _td(R.fmt(sp.get("peak_mib"), 0)), _td(R.fmt(sp.get("gflop_per_frame"), 1)),
               _td(R.fmt(sp.get("achieved_gflops"), 1)), _td(R.fmt(sp.get("roofline_pct"), 1)),
               _td(R.fmt(sp.get("power_w"), 1)), _td(R.fmt(sp.get("fps_per_w"), 3)),
               _td(c.get("weights") or "", True)]
        parts.append(f"<tr{'' if c['status'] == 'measured' else ' class=nm'}>" + "".join(tds) + "</tr>")
    parts.append("</table>")
    parts.append("<h2>Machines</h2><table><tr><th class=l>id</th><th class=l>environment</th></tr>")
    for mid, env in report["machines"].items():
        parts.append(f"<tr>{_td(mid, True)}{_td(R.machine_line(env), True)}</tr>")
    parts.append("</table>")
    parts.append(f"<h2>Definitions</h2><ul class=note>{_DEFINITIONS}</ul>")
    parts.append(_IMG_CHECK + "</body></html>")
    return "\n".join(parts)


_DEFINITIONS = "".join(f"<li>{t}</li>" for t in (
    "FPS: timed frames / wall time of the timed loop, after untimed warm-up frames, through the same streaming "
    "upscaler as <code>edgevsr upscale</code> (uint8 in, uint8 out, recurrent state kept); every stage is "
    "synchronised (edgevsr profile). Latency percentiles are per frame.",
    "Peak memory: CPU = peak resident set of the whole process during the timed frames (includes everything "
    "else loaded in it); GPU = torch.cuda.max_memory_allocated.",
    "W, FPS/W: average GPU / board power over the timed frames from NVML (desktop GPUs) or jtop (Jetson) when "
    "installed (pip install 'edgevsr[nvml]' / 'edgevsr[jetson]'); blank on CPU runs.",
    "GFLOP/frame = 2 x multiply-accumulates of the conv layers at the padded LR size; % of peak = achieved / "
    "device peak (CPU: measured FP32 matrix-product peak; GPU: vendor data sheet).",
    "PSNR-Y / SSIM-Y: BT.601 Y, 8-pixel border cropped. LPIPS: AlexNet-lin v0.1. tOF: Farneback flow "
    "difference. tLP100: 100 x |LPIPS(gt[t-1], gt[t]) - LPIPS(out[t-1], out[t])| (TecoGAN / EGVSR code).",
    "'vs FP32': the same metrics with the FP32 PyTorch output of the same model and weights in place of the "
    "ground truth: what the precision / backend itself costs.",
    "Cells that cannot run on a machine (no GPU, no TensorRT, no trained weights for quality) are listed as "
    "not measured; nothing is estimated.",
))
