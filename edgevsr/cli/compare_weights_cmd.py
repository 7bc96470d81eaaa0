"""`edgevsr compare-weights`: weights side by side on every held-out clip, the evidence behind a default.

For each clip (a folder of frames, never trained on) and each weights: PSNR-Y, LPIPS, tOF and tLP100
(TecoGAN definitions, BD x4) next to bicubic on BD's grid (one ``bicubic-bd`` row per clip), per clip
(an average can hide one clip getting worse), each weights' ratios to the first (the reference) and to
bicubic-bd, and the recurrence's warp-error diagnostic. Paths are rounded to FP16 first, as
``edgevsr ship-weights`` ships them. ``edgevsr ship-weights`` writes the card;
``python -m edgevsr.train.held_out --card`` copies these per-clip figures into it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from edgevsr.cli import options

METRICS = ("psnr_y", "lpips", "tof", "tlp100")
BD = "bicubic-bd"


def _load(model: str, weights: str):
    """A shipped name brings its own model (egvsr-stage1 beside rrn weights); a path is ``model``'s."""
    from edgevsr.train.ship import round_to_fp16
    from edgevsr.weights import load_model, shipped_weights

    card = shipped_weights().get(weights)
    net, source = load_model(card.model if card is not None else model, weights)
    if card is not None and card.model != model:
        source += f" ({card.model})"
    if weights not in shipped_weights():
        round_to_fp16(net)
        source += " (rounded to FP16)"
    return net, source


def _ratio(a, b):
    return round(a / b, 4) if a is not None and b else None


def compare_weights(model: str, weights: list[str], clips: list[Path], frames: int = 100, threads: int = 2,
                    on_row: Callable[[dict], None] | None = None) -> dict:
    """The comparison as a JSON-ready dict (``rows``: one per clip and weights, plus bicubic-bd)."""
    import torch

    from edgevsr.train.validate import evaluate, load_val_clips, make_scorer

    torch.set_num_threads(threads)
    nets = [_load(model, w) for w in weights]  # every file and name checked before minutes of clip loading
    scorer = make_scorer()
    loaded = {}
    for folder in clips:
        (c,) = load_val_clips(folder.parent, [folder.name], frames)
        loaded[folder.name] = c
    rows = []
    for w, (net, source) in zip(weights, nets, strict=True):
        for name, clip in loaded.items():
            t0 = time.perf_counter()
            res = evaluate(net, [clip], torch.device("cpu"), scorer)
            if not any(r["weights"] == BD and r["clip"] == name for r in rows):
                rows.append({"weights": BD, "source": "aligned bicubic (BD sampling grid)", "clip": name,
                             "frames": int(clip.hr.shape[0]),
                             **{k: round(res[f"{k}_bicubic_bd"], 4) for k in METRICS if f"{k}_bicubic_bd" in res}})
            rows.append({"weights": w, "source": source, "clip": name, "frames": int(clip.hr.shape[0]),
                         "hr_size": f"{clip.hr.shape[-1]}x{clip.hr.shape[-2]}",
                         **{k: round(v, 4) for k, v in res.items() if "@" not in k},
                         "seconds": round(time.perf_counter() - t0, 1)})
            if on_row:
                on_row(rows[-1])
    ref = weights[0]
    for r in rows:
        if r["weights"] == BD:
            continue
        base = next(x for x in rows if x["weights"] == ref and x["clip"] == r["clip"])
        bd = next(x for x in rows if x["weights"] == BD and x["clip"] == r["clip"])
        r["vs_reference"] = {"psnr_y_db": round(r["psnr_y"] - base["psnr_y"], 3),
                             **{f"{k}_ratio": _ratio(r.get(k), base.get(k)) for k in METRICS[1:]}}
        r["vs_bicubic_bd"] = {"psnr_y_db": round(r["psnr_y"] - bd["psnr_y"], 3),
                              **{f"{k}_ratio": _ratio(r.get(k), bd.get(k)) for k in METRICS[1:]}}
    return {"model": model, "reference": ref, "degradation": "BD x4", "frames": frames,
            "torch": torch.__version__, "rows": rows}


def markdown_table(report: dict) -> str:
    """One markdown row per clip and weights: values, ratios to bicubic-bd and to the reference."""
    ref = report["reference"]

    def pct(x):
        return f"{100 * (x - 1):+.0f} %" if x is not None else "-"

    def num(r, k, fmt):
        return format(r[k], fmt) if r.get(k) is not None else "-"

    lines = [f"| weights | clip | frames | PSNR-Y | vs bicubic-bd | LPIPS | x bicubic-bd | tOF | x bicubic-bd | tLP100 "
             f"| warp err (out / gt / none) | PSNR-Y vs {ref} | LPIPS vs {ref} | tOF vs {ref} |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        v, b = r.get("vs_reference"), r.get("vs_bicubic_bd")
        warp = (f"{r['warp_err']:.2f} / {r['warp_err_gt']:.2f} / {r['warp_err_zero']:.2f}" if "warp_err" in r
                else "-")
        lines.append(f"| {r['weights']} | {r['clip']} | {r['frames']} | {r['psnr_y']:.2f} | "
                     + (f"{b['psnr_y_db']:+.2f} | " if b else "- | ") + f"{num(r, 'lpips', '.3f')} | "
                     + (f"{b['lpips_ratio']:.2f} | " if b and b["lpips_ratio"] else "- | ")
                     + f"{num(r, 'tof', '.3f')} | " + (f"{b['tof_ratio']:.2f} | " if b else "- | ")
                     + f"{num(r, 'tlp100', '.3f')} | {warp} | "
                     + (f"{v['psnr_y_db']:+.2f} dB | {pct(v['lpips_ratio'])} | {pct(v['tof_ratio'])} |" if v
                        else "- | - | - |"))
    return "\n".join(lines)


def write_report(report: dict, output: Path, command: str) -> None:
    from edgevsr.io.atomic import atomic_path

    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(json.dumps({**report, "command": command}, indent=2))


def print_row(r: dict) -> None:
    print(f"{r['weights']:24s} {r['clip']:16s} " + " ".join(f"{k} {r.get(k, float('nan')):.4f}" for k in METRICS),
          flush=True)


def register(app: typer.Typer) -> None:
    @app.command("compare-weights")
    def compare_weights_cmd(
        clips: list[Path] = typer.Argument(..., help="Held-out clips: folders of GT frames (never trained on)."),
        output: Annotated[Path, options.output("JSON file for the comparison.")] = ...,
        model: options.Model = None,
        weights: list[str] = typer.Option(..., "--weights", help="Weights to compare (repeat; the first is the "
                                          "reference): shipped names or paths."),
        frames: int = typer.Option(100, help="First N frames of each clip."),
        threads: options.Threads = None,
    ) -> None:
        """Weights side by side on held-out clips (PSNR-Y, LPIPS, tOF, tLP100 vs bicubic-bd and a reference)."""
        import shlex
        import sys

        import edgevsr.checks as checks
        from edgevsr.errors import EdgeVSRError
        from edgevsr.io.atomic import check_output

        checks.optional_count(threads, "--threads")
        if frames < 2:
            raise EdgeVSRError(f"--frames {frames}: need at least 2 frames (tOF compares neighbours)")
        check_output(output, inputs=clips)
        report = compare_weights(model or "egvsr", weights, clips, frames, threads or 2, on_row=print_row)
        print("\n" + markdown_table(report))
        write_report(report, output, "edgevsr " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
        print(f"\nwrote {output}")
