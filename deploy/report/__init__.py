"""`edgevsr report`: the accuracy-vs-FPS sweep behind the report a decision maker reads.

A *cell* is (model, precision, backend, LR input size). Speed is measured per
cell through the shared profiling session (:mod:`edgevsr.deploy.session`:
synchronised latency percentiles, FPS, peak memory, FLOPs and % of the device
peak) on frames of a real photo panned by a camera move. Quality is measured
once per (model, precision, backend) on an evaluation set - the built-in photo
clip, or GT sequences given with ``eval_data`` - degraded BD x4: PSNR-Y, SSIM-Y,
LPIPS, tOF, tLP100 against ground truth and against the FP32 PyTorch output of
the same model and weights. Nothing is invented: a cell that cannot run here
(no GPU, no such precision on that backend) says why it was not measured, and a
model without trained weights is timed with untrained weights but gets no quality.

Every measurement is cached under ``OUT/cache/`` by a key naming everything it
depends on, so an interrupted sweep continues where it stopped.

Modules, in the order data flows: ``config`` (the matrix) -> ``cache`` ->
``data`` (evaluation clips) -> ``artifacts`` (weights, ONNX files via
:func:`edgevsr.quantize.pipeline.quantize_model`, engines) -> ``measure`` ->
``sweep`` -> ``merge``; rendering: ``rows`` -> ``findings`` -> ``tables`` (JSON,
CSV), ``plots``, ``markdown``, ``html_page`` -> ``render``.
"""

from edgevsr.deploy.report.config import SweepConfig
from edgevsr.deploy.report.merge import load_report, merge_reports
from edgevsr.deploy.report.render import render_all
from edgevsr.deploy.report.sweep import run_sweep

__all__ = ["SweepConfig", "load_report", "merge_reports", "render_all", "run_sweep"]
