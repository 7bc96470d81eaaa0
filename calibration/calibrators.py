"""Activation ranges for INT8: statistics collected once, MinMax / Entropy / Percentile derived from them.

Two passes of the FP32 graph over the recorded calibration steps: the first
finds each activation tensor's min and max, the second builds a 2048-bin
histogram of ``|x|`` on ``[0, max|x|]``. The three methods are computed from
those statistics (so switching method never re-runs the model):

- ``minmax``: ``amax = max|x|`` (no clipping; outliers cost resolution);
- ``percentile``: the ``percentile`` of ``|x|`` (default 99.99 %);
- ``entropy``: TensorRT's KL-divergence threshold (the ``EntropyCalibration2``
  algorithm: 128 quantization levels over the first ``i`` of 2048 bins, smallest
  divergence from the clipped reference distribution).

A range is ``(lo, hi)``: ``(max(min, -amax), min(max, amax))``; symmetric int8
uses ``amax``, asymmetric uint8 uses ``lo``/``hi``. Statistics are cached in an
``.npz`` (no pickle) keyed by hashes of the FP32 graph and of the calibration
inputs, and reused when both match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevsr.errors import EdgeVSRError, first_line

METHODS = ("minmax", "entropy", "percentile")
BINS = 2048
CACHE_FORMAT = "edgevsr-calib-stats-v1"
ProgressFn = Callable[[int], None]


@dataclass
class ActivationStats:
    """Per activation tensor: min, max and a histogram of |x| over [0, amax_seen] (``BINS`` bins)."""

    names: list[str]
    mins: np.ndarray
    maxs: np.ndarray
    hists: np.ndarray  # (n, BINS) float64 counts
    model_hash: str
    data_hash: str
    frames: int

    def amax(self) -> np.ndarray:
        return np.maximum(np.abs(self.mins), np.abs(self.maxs))

    def ranges(self, method: str, percentile: float = 99.99) -> dict[str, tuple[float, float]]:
        """``{tensor: (lo, hi)}`` by ``method``."""
        if method not in METHODS:
            raise EdgeVSRError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
        amax = self.amax()
        out = {}
        for i, name in enumerate(self.names):
            if method == "minmax" or amax[i] == 0:
                t = amax[i]
            elif method == "percentile":
                t = percentile_amax(self.hists[i], amax[i], percentile)
            else:
                t = entropy_amax(self.hists[i], amax[i])
            out[name] = (float(max(self.mins[i], -t)), float(min(self.maxs[i], t)))
        return out


def percentile_amax(hist: np.ndarray, amax: float, percentile: float) -> float:
    total = hist.sum()
    if total == 0:
        return float(amax)
    idx = int(np.searchsorted(np.cumsum(hist), total * percentile / 100.0))
    return float(amax) * min(idx + 1, len(hist)) / len(hist)


def entropy_amax(hist: np.ndarray, amax: float, levels: int = 128, start: int = 128, stride: int = 4) -> float:
    """TensorRT's entropy calibration (as in NVIDIA pytorch-quantization ``_compute_amax_entropy``).

    Candidate thresholds every ``stride`` bins (4: 0.2 % of amax apart; 4x faster than every bin).
    """
    bins = hist.astype(np.float64).copy()
    n = len(bins)
    if bins.sum() == 0 or n <= start:
        return float(amax)
    bins[0] = bins[1]  # the spike of exact zeros (ReLU) would dominate the distribution
    best_i, best_kl = n, np.inf
    tail = np.concatenate([np.cumsum(bins[::-1])[::-1], [0.0]])  # tail[i] = bins[i:].sum()
    for i in range(start, n + 1, stride):
        ref = bins[:i].copy()
        ref[-1] += tail[i]
        nz = bins[:i] != 0
        group = (np.arange(i) * levels) // i
        counts = np.bincount(group[nz], weights=bins[:i][nz], minlength=levels)
        members = np.bincount(group[nz], minlength=levels)
        q = np.where(nz, counts[group] / np.maximum(members[group], 1), 0.0)
        p = ref / ref.sum()
        qs = q.sum()
        if qs == 0:
            continue
        q = q / qs
        mask = p > 0
        if np.any(q[mask] == 0):
            kl = np.inf
        else:
            kl = float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
        if kl <= best_kl:  # ties: the last (largest) threshold, as TensorRT
            best_kl, best_i = kl, i
    return float(amax) * best_i / n


def activation_tensors(proto) -> list[str]:
    """Float activation tensors of a graph (inputs and node outputs; not initializers or shape tensors)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(proto)
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    inits = {i.name for i in proto.graph.initializer}
    names = [i.name for i in proto.graph.input if i.name not in inits]
    for node in proto.graph.node:
        names.extend(o for o in node.output if o)
    seen, out = set(), []
    for n in names:
        if n not in seen and types.get(n) == onnx.TensorProto.FLOAT:
            seen.add(n)
            out.append(n)
    return out


def graph_hash(proto) -> str:
    return hashlib.sha256(proto.graph.SerializeToString(deterministic=True)).hexdigest()[:16]


def steps_hash(steps: list[tuple[np.ndarray, ...]]) -> str:
    h = hashlib.sha256()
    for step in steps:
        for x in step:
            h.update(str(x.shape).encode())
            h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()[:16]


def _augmented_session(proto, names: list[str]):
    import onnx

    aug = onnx.ModelProto()
    aug.CopyFrom(proto)
    have = {o.name for o in aug.graph.output}
    for n in names:
        if n not in have:
            aug.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    from edgevsr.backends.onnxruntime.loader import make_session

    return make_session(aug.SerializeToString(), optimize=False)  # unoptimised: keep every tensor


def collect_stats(proto, steps: list[tuple[np.ndarray, ...]], on_step: ProgressFn | None = None,
                  histograms: bool = True) -> ActivationStats:
    """Run the FP32 graph over ``steps`` (twice if ``histograms``) and gather per-tensor statistics."""
    names = activation_tensors(proto)
    sess = _augmented_session(proto, names)
    in_names = [i.name for i in sess.get_inputs()]
    n = len(names)
    mins, maxs = np.full(n, np.inf), np.full(n, -np.inf)
    for step in steps:
        outs = sess.run(names, dict(zip(in_names, step)))
        for i, x in enumerate(outs):
            mins[i] = min(mins[i], float(x.min()))
            maxs[i] = max(maxs[i], float(x.max()))
        if on_step:
            on_step(1)
    amax = np.maximum(np.abs(mins), np.abs(maxs))
    hists = np.zeros((n, BINS))
    if histograms:
        for step in steps:
            outs = sess.run(names, dict(zip(in_names, step)))
            for i, x in enumerate(outs):
                if amax[i] > 0:
                    idx = np.minimum((np.abs(x.ravel()) * (BINS / amax[i])).astype(np.int64), BINS - 1)
                    hists[i] += np.bincount(idx, minlength=BINS)
            if on_step:
                on_step(1)
    return ActivationStats(names, mins, maxs, hists, graph_hash(proto), steps_hash(steps), len(steps))


def save_stats(stats: ActivationStats, path: str | Path) -> None:
    from edgevsr.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, format=np.array(CACHE_FORMAT), names=np.array(stats.names), mins=stats.mins,
                            maxs=stats.maxs, hists=stats.hists, model_hash=np.array(stats.model_hash),
                            data_hash=np.array(stats.data_hash), frames=np.array(stats.frames))


def load_stats(path: str | Path) -> ActivationStats:
    """Read a statistics cache; a damaged or foreign file is a one-line error naming it."""
    path = Path(path)
    try:
        with np.load(str(path), allow_pickle=False) as z:
            if str(z["format"]) != CACHE_FORMAT:
                raise ValueError(f"format {str(z['format'])!r}, expected {CACHE_FORMAT}")
            stats = ActivationStats([str(s) for s in z["names"]], z["mins"].astype(np.float64),
                                    z["maxs"].astype(np.float64), z["hists"].astype(np.float64),
                                    str(z["model_hash"]), str(z["data_hash"]), int(z["frames"]))
    except Exception as exc:
        msg = first_line(exc)
        raise EdgeVSRError(f"{path}: corrupted or not an edgevsr calibration cache ({msg}); delete it") from None
    n = len(stats.names)
    if stats.mins.shape != (n,) or stats.maxs.shape != (n,) or stats.hists.shape != (n, BINS):
        raise EdgeVSRError(f"{path}: corrupted calibration cache (array shapes disagree); delete it")
    return stats


def cached_stats(proto, steps: list[tuple[np.ndarray, ...]], cache: str | Path | None,
                 on_step: ProgressFn | None = None) -> tuple[ActivationStats, bool]:
    """Statistics from ``cache`` when it matches this graph and these inputs, else collected (and cached).

    Returns the statistics and whether they came from the cache.
    """
    if cache is not None and Path(cache).is_file():
        stats = load_stats(cache)
        if stats.model_hash == graph_hash(proto) and stats.data_hash == steps_hash(steps):
            return stats, True
    stats = collect_stats(proto, steps, on_step)
    if cache is not None:
        save_stats(stats, cache)
    return stats, False
