"""Score frame streams pairwise: PSNR-Y / SSIM-Y / LPIPS / tOF / tLP100, per frame, sequence and dataset.

One pass over the frames serves every comparison asked for: each stream
(output, ground truth, reference, ...) is converted to Y, grey, flow and LPIPS
features once, and every requested pair is scored from those. Frames of a
sequence are matched by natural-sorted position; sizes differing by
less than 4 pixels (x4 degradation crops) are cropped to the common top-left
region with a warning; larger differences are refused. Means: per sequence over its
frames (tOF / tLP from the second frame on, as the reference code), dataset
mean over sequences.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.quality import metrics as M

HIGHER_IS_BETTER = {"psnr_y": True, "psnr_rgb": True, "ssim_y": True, "lpips": False, "tof": False,
                    "tlp100": False}
TEMPORAL = ("tof", "tlp100")
ProgressFn = Callable[[int], None]


# Sizes may differ by what x4 degradation and even-sized video crop (under 4 pixels); more is another picture.
MAX_CROP = 4


class EvalWarning(UserWarning):
    """Something was scored, but not exactly as given (e.g. frames cropped to a common size)."""


@dataclass
class EvalOptions:
    border: int = M.BORDER  # pixels cropped from each side for PSNR / SSIM
    rgb_psnr: bool = False  # also PSNR over R, G and B samples
    ssim: bool = True
    lpips: bool = True  # LPIPS and tLP100
    tof: bool = True
    lpips_weights: str | None = None
    device: str = "cpu"
    lpips_pixels: int = 4_000_000  # whole frames per LPIPS batch: max(1, lpips_pixels // (H * W))

    def __post_init__(self) -> None:
        import edgevsr.checks as checks

        checks.count(self.border, "--border", minimum=0)

    def metric_names(self) -> list[str]:
        names = ["psnr_y"] + (["psnr_rgb"] if self.rgb_psnr else []) + (["ssim_y"] if self.ssim else [])
        return names + (["lpips"] if self.lpips else []) + (["tof"] if self.tof else []) + (
            ["tlp100"] if self.lpips else [])


def _mean(values: Iterable[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


@dataclass
class SequenceScores:
    name: str
    metrics: list[str]
    frames: list[dict] = field(default_factory=list)  # {"name": ..., metric: value or None}
    warnings: list[str] = field(default_factory=list)

    def mean(self) -> dict[str, float | None]:
        return {m: _mean(f.get(m) for f in self.frames) for m in self.metrics}

    def to_dict(self) -> dict:
        return {"name": self.name, "frames_scored": len(self.frames), "mean": self.mean(), "frames": self.frames,
                "warnings": self.warnings}


@dataclass
class DatasetScores:
    """Scores of one comparison ("output vs gt") over a dataset's sequences."""

    label: str
    metrics: list[str]
    sequences: list[SequenceScores] = field(default_factory=list)

    def mean(self) -> dict[str, float | None]:
        """Mean over sequences of the per-sequence means (the TecoGAN/EGVSR dataset average)."""
        means = [s.mean() for s in self.sequences]
        return {m: _mean(x[m] for x in means) for m in self.metrics}

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.sequences for w in s.warnings]

    def to_dict(self) -> dict:
        return {"label": self.label, "metrics": self.metrics, "mean": self.mean(),
                "sequences": [s.to_dict() for s in self.sequences]}

    @classmethod
    def from_dict(cls, d: dict) -> DatasetScores:
        seqs = [SequenceScores(s["name"], list(d["metrics"]), s["frames"], s.get("warnings", []))
                for s in d["sequences"]]
        return cls(d["label"], list(d["metrics"]), seqs)


class _Stream:
    """Per-stream quantities computed once per frame and shared by every pair the stream is in."""

    def __init__(self) -> None:
        self.prev_grey: np.ndarray | None = None
        self.prev_emb: list[torch.Tensor] | None = None


class Scorer:
    """Scores named frame streams pairwise, one pass over the frames; loads LPIPS on first use."""

    def __init__(self, options: EvalOptions | None = None):
        self.options = options or EvalOptions()
        self._lpips = None

    @property
    def lpips(self):
        if self._lpips is None:
            from edgevsr.quality.lpips import load_lpips

            self._lpips = load_lpips(self.options.lpips_weights, self.options.device)
        return self._lpips

    def score_sequence(self, name: str, streams: Mapping[str, Iterable[np.ndarray]],
                       pairs: Sequence[tuple[str, str]], frame_names: Sequence[str] | None = None,
                       on_frames: ProgressFn | None = None) -> dict[tuple[str, str], SequenceScores]:
        """Score each (test, target) pair of ``streams`` frame by frame; streams must be equally long."""
        opts = self.options
        keys = list(streams)
        for a, b in pairs:
            if a not in streams or b not in streams:
                raise ValueError(f"pair ({a}, {b}) names a stream not in {keys}")
        iters = {k: iter(v) for k, v in streams.items()}
        state = {k: _Stream() for k in keys}
        results = {p: SequenceScores(name, opts.metric_names()) for p in pairs}
        size: tuple[int, int] | None = None
        batch = 1
        index = 0
        while True:
            chunk: list[dict[str, np.ndarray]] = []
            while len(chunk) < batch:
                group = self._next_group(name, iters, index + len(chunk))
                if group is None:
                    break
                if size is None:
                    size = self._common_size(name, group, results)
                    batch = max(1, opts.lpips_pixels // (size[0] * size[1])) if opts.lpips else 1
                elif any(f.shape[:2] != size for f in group.values()):
                    size = self._common_size(name, group, results)
                chunk.append({k: np.ascontiguousarray(f[:size[0], :size[1]]) for k, f in group.items()})
            if not chunk:
                break
            records = [self._frame_scores(group, pairs, state) for group in chunk]
            if opts.lpips:
                self._lpips_scores(chunk, pairs, state, records)
            for i, rec in enumerate(records):
                fname = frame_names[index + i] if frame_names and index + i < len(frame_names) else str(index + i)
                for p in pairs:
                    results[p].frames.append({"name": fname, **rec[p]})
            index += len(chunk)
            if on_frames:
                on_frames(len(chunk))
        if index == 0:
            raise EdgeVSRError(f"{name}: no frames to score")
        return results

    @staticmethod
    def _next_group(name: str, iters: dict[str, Iterator], index: int) -> dict[str, np.ndarray] | None:
        got = {}
        for k, it in iters.items():
            f = next(it, None)
            if f is not None:
                got[k] = f
        if not got:
            return None
        if len(got) != len(iters):
            ended = sorted(set(iters) - set(got))
            raise EdgeVSRError(f"{name}: {', '.join(ended)} ended after {index} frames but "
                               f"{', '.join(sorted(got))} go on; frame counts must match")
        return got

    @staticmethod
    def _common_size(name: str, group: dict[str, np.ndarray], results: dict) -> tuple[int, int]:
        h = min(f.shape[0] for f in group.values())
        w = min(f.shape[1] for f in group.values())
        if any(f.shape[:2] != (h, w) for f in group.values()):
            sizes = ", ".join(f"{k} {f.shape[1]}x{f.shape[0]}" for k, f in group.items())
            if max(f.shape[0] - h for f in group.values()) >= MAX_CROP or \
                    max(f.shape[1] - w for f in group.values()) >= MAX_CROP:
                raise EdgeVSRError(f"{name}: frame sizes differ ({sizes}): not the same picture (outputs not "
                                   f"upscaled, or the wrong ground truth?); up to {MAX_CROP - 1} pixels of "
                                   "cropping are tolerated")
            msg = f"{name}: frame sizes differ ({sizes}); scoring the common top-left {w}x{h}"
            warnings.warn(msg, EvalWarning, stacklevel=4)
            for r in results.values():
                r.warnings.append(msg)
        return h, w

    def _frame_scores(self, group: dict[str, np.ndarray], pairs: Sequence[tuple[str, str]],
                      state: dict[str, _Stream]) -> dict[tuple[str, str], dict]:
        opts = self.options
        used = {k for p in pairs for k in p}
        y = {k: M.crop_border(M.rgb_to_y(group[k]), opts.border) for k in used}
        flow: dict[str, np.ndarray | None] = {}
        if opts.tof:
            for k in used:
                g = M.grey(group[k])
                prev = state[k].prev_grey
                flow[k] = M.farneback_flow(prev, g) if prev is not None else None
                state[k].prev_grey = g
        out = {}
        for a, b in pairs:
            d = y[a] - y[b]
            rec: dict[str, float | None] = {"psnr_y": M.psnr_from_mse(float(np.mean(d * d)))}
            if opts.rgb_psnr:
                rec["psnr_rgb"] = M.psnr(group[a], group[b], "rgb", opts.border)
            if opts.ssim:
                rec["ssim_y"] = M.ssim_from_y(y[a], y[b])
            if opts.tof:
                rec["tof"] = None if flow[a] is None else M.tof_from_flows(flow[a], flow[b])
            out[(a, b)] = rec
        return out

    @torch.no_grad()
    def _lpips_scores(self, chunk: list[dict[str, np.ndarray]], pairs: Sequence[tuple[str, str]],
                      state: dict[str, _Stream], records: list[dict]) -> None:
        from edgevsr.quality.lpips import to_lpips_input

        model = self.lpips
        used = sorted({k for p in pairs for k in p})
        emb, step = {}, {}
        for k in used:
            e = model.embed(to_lpips_input([g[k] for g in chunk], self.options.device))
            prev = state[k].prev_emb
            # LPIPS between consecutive frames of this stream (frame 0 of the sequence has none)
            before = [torch.cat([p, f[:-1]]) for p, f in zip(prev, e, strict=True)] if prev else [f[:-1] for f in e]
            after = e if prev else [f[1:] for f in e]
            d = model.distance(before, after).double().cpu().numpy() if after[0].shape[0] else np.zeros(0)
            step[k] = ([None] if not prev else []) + [float(x) for x in d]
            state[k].prev_emb = [f[-1:] for f in e]
            emb[k] = e
        for a, b in pairs:
            dist = model.distance(emb[a], emb[b]).double().cpu().numpy()
            for i, rec in enumerate(records):
                rec[(a, b)]["lpips"] = float(dist[i])
                sa, sb = step[a][i], step[b][i]
                rec[(a, b)]["tlp100"] = None if sa is None else M.tlp100(sb, sa)
