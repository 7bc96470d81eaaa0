"""Upscale a video library on a Ray cluster: chunks at scene cuts, model actors, in-order stitching, a journal.

The entry point is :func:`run_batch` (the `edgevsr batch` command calls it); Ray is imported only
when a job runs, so this package imports without the ``cluster`` extra.
"""

from edgevsr.batch.job import BatchOptions, BatchProgress, run_batch

__all__ = ["BatchOptions", "BatchProgress", "run_batch"]
