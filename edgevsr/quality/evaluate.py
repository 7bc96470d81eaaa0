"""Score a dataset: saved outputs against ground truth, or a model run on LR made from (or given with) the GT."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError
from edgevsr.io.atomic import atomic_path
from edgevsr.io.frames import FrameSource
from edgevsr.quality.datasets import discover_sequences, gt_root, match_sequence
from edgevsr.quality.paired import PairedClip
from edgevsr.quality.scorer import DatasetScores, ProgressFn, Scorer


def evaluate_outputs(outputs: str | Path, gt: str | Path, scorer: Scorer | None = None,
                     on_frames: ProgressFn | None = None, label: str = "output vs gt") -> DatasetScores:
    """Score output sequences (OUT/<seq>/ frames or OUT/<seq>.mp4) against GT/<seq>/."""
    scorer = scorer or Scorer()
    gt = gt_root(Path(gt))
    seqs = discover_sequences(gt)
    result = DatasetScores(label, scorer.options.metric_names())
    for name, gpath in seqs:
        opath = match_sequence(Path(outputs), name, len(seqs) == 1, "output")
        gsrc, osrc = FrameSource(gpath), FrameSource(opath)
        r = scorer.score_sequence(name, {"output": osrc, "gt": gsrc}, [("output", "gt")], gsrc.info.names,
                                  on_frames)
        result.sequences.append(r[("output", "gt")])
    return result


def evaluate_model(runner, gt: str | Path, lr_dir: str | Path | None = None, degrade: str | None = None,
                   scorer: Scorer | None = None, save_dir: str | Path | None = None,
                   on_frames: ProgressFn | None = None) -> DatasetScores:
    """Run ``runner`` on every sequence (LR from ``lr_dir`` or GT degraded on the fly) and score it.

    With ``degrade`` the GT is cropped to a multiple of the scale first, as the degradation does.
    ``save_dir`` keeps the outputs (``save_dir/<seq>/<gt name>.png``) e.g. as the reference of a later gate.
    """
    from edgevsr.degrade import MODES
    from edgevsr.io.writers import FrameSink
    from edgevsr.stream import FrameUpscaler

    if (lr_dir is None) == (degrade is None):
        raise EdgeVSRError("give exactly one of --lr-dir DIR or --degrade BD|BI")
    if degrade is not None and degrade not in MODES:
        raise EdgeVSRError(f"--degrade {degrade}: choose one of {', '.join(MODES)}")
    scorer = scorer or Scorer()
    gt = gt_root(Path(gt))
    seqs = discover_sequences(gt)
    s = runner.spec.scale
    result = DatasetScores("output vs gt", scorer.options.metric_names())
    saving = atomic_path(save_dir, is_dir=True) if save_dir is not None else contextlib.nullcontext(None)
    with runner, saving as save_tmp:  # saved outputs appear together when every sequence is done, or not at all
        for name, gpath in seqs:
            if degrade is not None:
                clip = PairedClip.streamed(name, gpath, degrade, s)
            else:
                clip = PairedClip.given_lr(name, gpath, match_sequence(Path(lr_dir), name, len(seqs) == 1,
                                                                       "LR frames"), s)
            out: Iterable[np.ndarray] = FrameUpscaler(runner).run(clip.lr)
            sink = None
            if save_tmp is not None:
                sink = FrameSink(save_tmp / name, fps=clip.fps, names=clip.frame_names)
                out = _tee_to(sink, out)
            try:
                r = scorer.score_sequence(name, {"output": out, "gt": clip.gt}, [("output", "gt")],
                                          clip.frame_names, on_frames)
            except BaseException:
                if sink is not None:
                    sink.abort()
                raise
            if sink is not None:
                sink.close()
            result.sequences.append(r[("output", "gt")])
    return result


def _tee_to(sink, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for f in frames:
        sink.write(f)
        yield f
