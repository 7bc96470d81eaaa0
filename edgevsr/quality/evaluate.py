"""Score video sequences against ground truth (or against each other) and gate quality loss.

One pass over the frames serves every comparison asked for: each stream
(output, ground truth, reference, ...) is converted to Y, grey, flow and LPIPS
features once, and every requested pair is scored from those. Frames of a
sequence are matched by natural-sorted position; differing sizes are cropped
to the common top-left region with a warning. Means: per sequence over its
frames (tOF / tLP from the second frame on, as the reference code), dataset
mean over sequences.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from edgevsr.errors import EdgeVSRError
from edgevsr.io.frames import IMAGE_EXTS, VIDEO_EXTS, FrameSource, list_images, natural_key
from edgevsr.quality import metrics as M

HIGHER_IS_BETTER = {"psnr_y": True, "psnr_rgb": True, "ssim_y": True, "lpips": False, "tof": False,
                    "tlp100": False}
TEMPORAL = ("tof", "tlp100")
ProgressFn = Callable[[int], None]


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


# ------------------------------------------------------------------------------------------------ scoring
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


# ------------------------------------------------------------------------------------------------ datasets
def gt_root(path: Path) -> Path:
    """DATASET/ with a GT/ folder inside means DATASET/GT (the Vid4 / ToS3 layout)."""
    return path / "GT" if (path / "GT").is_dir() else path


def discover_sequences(root: str | Path) -> list[tuple[str, Path]]:
    """(name, path) of every sequence under ``root``: each folder holding images, at any depth, named by its
    path relative to ``root``; ``root`` itself when it is a frame folder or a video."""
    root = Path(root)
    if not root.exists():
        raise EdgeVSRError(f"{root}: no such file or folder")
    if root.is_file():
        return [(root.stem, root)]
    if list_images(root):
        return [(root.name, root)]
    found = []
    dirs = sorted((p for p in root.rglob("*") if p.is_dir()),
                  key=lambda p: [natural_key(Path(x)) for x in p.relative_to(root).parts])
    for d in dirs:
        if list_images(d):
            found.append((d.relative_to(root).as_posix(), d))
    if not found:
        videos = sorted((p for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTS), key=natural_key)
        found = [(p.stem, p) for p in videos]
    if not found:
        raise EdgeVSRError(f"{root}: no sequences (folders of {', '.join(sorted(IMAGE_EXTS))} images or videos)")
    return found


def match_sequence(root: Path, name: str, single: bool, what: str) -> Path:
    """The sequence ``name`` under ``root`` (a folder, or a video named after it); ``root`` itself if it
    is a frame folder / video and there is only one sequence."""
    if single and (root.is_file() or (root.is_dir() and list_images(root))):
        return root
    cand = root / name
    if cand.is_dir():
        return cand
    for p in sorted(cand.parent.glob(cand.name + ".*")) if cand.parent.is_dir() else []:
        if p.suffix.lower() in VIDEO_EXTS:
            return p
    raise EdgeVSRError(f"{root}: no {what} for sequence {name!r} (looked for {cand}/ and {cand}.<video>)")


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


def total_frames(gt: str | Path) -> int | None:
    """Frames in a dataset (GT or outputs), for progress bars (None if a video does not say)."""
    counts = [FrameSource(p).info.frame_count for _, p in discover_sequences(gt_root(Path(gt)))]
    return None if any(c is None for c in counts) else sum(counts)


def evaluate_model(runner, gt: str | Path, lr_dir: str | Path | None = None, degrade: str | None = None,
                   scorer: Scorer | None = None, save_dir: str | Path | None = None,
                   on_frames: ProgressFn | None = None) -> DatasetScores:
    """Run ``runner`` on every sequence (LR from ``lr_dir`` or GT degraded on the fly) and score it.

    With ``degrade`` the GT is cropped to a multiple of the scale first, as the degradation does.
    ``save_dir`` keeps the outputs (``save_dir/<seq>/<gt name>.png``) e.g. as the reference of a later gate.
    """
    from edgevsr.degrade import MODES, degrade_frame
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
    with runner:
        for name, gpath in seqs:
            gsrc = FrameSource(gpath)
            if degrade is not None:
                g_for_lr, g_for_score = itertools.tee(
                    f[: f.shape[0] // s * s, : f.shape[1] // s * s] for f in gsrc)
                lr: Iterable[np.ndarray] = (degrade_frame(f, degrade, s) for f in g_for_lr)
            else:
                g_for_score = iter(gsrc)
                lr = FrameSource(match_sequence(Path(lr_dir), name, len(seqs) == 1, "LR frames"))
            out: Iterable[np.ndarray] = FrameUpscaler(runner).run(lr)
            sink = None
            if save_dir is not None:
                dst = Path(save_dir) / name
                dst.parent.mkdir(parents=True, exist_ok=True)
                sink = FrameSink(dst, fps=gsrc.info.fps, names=gsrc.info.names)
                out = _tee_to(sink, out)
            try:
                r = scorer.score_sequence(name, {"output": out, "gt": g_for_score}, [("output", "gt")],
                                          gsrc.info.names, on_frames)
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


# ------------------------------------------------------------------------------------------------ gate
@dataclass
class QualityBudget:
    """How much worse a candidate (FP16, INT8, pruned...) may be than its FP32 reference. None = unchecked."""

    max_lpips_increase: float | None = None  # LPIPS(cand, gt) - LPIPS(ref, gt)
    max_tof_increase: float | None = None  # tOF(cand, gt) - tOF(ref, gt)
    max_tlp_increase: float | None = None  # tLP100(cand, gt) - tLP100(ref, gt)
    max_psnr_drop: float | None = None  # PSNR-Y(ref, gt) - PSNR-Y(cand, gt), dB
    max_ssim_drop: float | None = None  # SSIM-Y(ref, gt) - SSIM-Y(cand, gt)
    min_psnr_vs_ref: float | None = None  # PSNR-Y(cand, ref), dB
    max_lpips_vs_ref: float | None = None  # LPIPS(cand, ref)

    NEEDS_GT = ("max_lpips_increase", "max_tof_increase", "max_tlp_increase", "max_psnr_drop", "max_ssim_drop")

    def given(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# (budget field, metric, how the checked value is formed, "<=" or ">=")
_CHECKS = {
    "max_lpips_increase": ("lpips", "increase", "<="),
    "max_tof_increase": ("tof", "increase", "<="),
    "max_tlp_increase": ("tlp100", "increase", "<="),
    "max_psnr_drop": ("psnr_y", "drop", "<="),
    "max_ssim_drop": ("ssim_y", "drop", "<="),
    "min_psnr_vs_ref": ("psnr_y", "vs_ref", ">="),
    "max_lpips_vs_ref": ("lpips", "vs_ref", "<="),
}


@dataclass
class GateCheck:
    budget: str
    metric: str
    value: float
    limit: float
    passed: bool

    def describe(self) -> str:
        op = _CHECKS[self.budget][2]
        return f"{self.budget.replace('_', '-')}: {self.value:.4f} {op} {self.limit:g} " + (
            "ok" if self.passed else "EXCEEDED")


@dataclass
class GateResult:
    passed: bool
    checks: list[GateCheck]
    vs_reference: DatasetScores  # candidate scored against the reference outputs
    candidate: DatasetScores | None = None  # candidate vs gt
    reference: DatasetScores | None = None  # reference vs gt

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks],
                "results": {d.label: d.to_dict() for d in (self.candidate, self.reference, self.vs_reference)
                            if d is not None}}


FramesLike = Sequence[np.ndarray] | Mapping[str, Iterable[np.ndarray]] | str | Path


def _as_sequences(x: FramesLike, what: str) -> dict[str, Iterable[np.ndarray]]:
    if isinstance(x, (str, Path)):
        return {name: FrameSource(p) for name, p in discover_sequences(gt_root(Path(x)) if what == "gt"
                                                                       else Path(x))}
    if isinstance(x, Mapping):
        return dict(x)
    return {"sequence": x}


def _gate_value(kind: str, metric: str, cand: dict, ref: dict, vs_ref: dict) -> float:
    if kind == "vs_ref":
        return vs_ref[metric]
    c, r = cand[metric], ref[metric]
    if c == r:  # also inf == inf (both identical to GT)
        return 0.0
    return c - r if kind == "increase" else r - c


def quality_gate(candidate: FramesLike, reference: FramesLike, gt: FramesLike | None = None,
                 budget: QualityBudget | None = None, scorer: Scorer | None = None,
                 on_frames: ProgressFn | None = None) -> GateResult:
    """Compare a candidate's outputs with its reference's (and both with GT) and check ``budget``.

    Each argument is one sequence (a list of HxWx3 uint8 frames), a mapping name -> frames, or a folder
    (dataset of sequences, as written by ``edgevsr eval --save-outputs`` or ``edgevsr upscale``).
    """
    budget = budget or QualityBudget()
    missing_gt = [k for k in budget.given() if k in QualityBudget.NEEDS_GT and gt is None]
    if missing_gt:
        raise EdgeVSRError(f"budget {', '.join('--' + k.replace('_', '-') for k in missing_gt)} needs "
                           "ground truth (--gt)")
    scorer = scorer or Scorer()
    refs = _as_sequences(reference, "reference")
    cands = _as_sequences(candidate, "candidate")
    gts = _as_sequences(gt, "gt") if gt is not None else None
    names = list(gts) if gts is not None else list(refs)
    if len(names) == 1 and len(refs) == 1 and len(cands) == 1:  # single clips: names need not agree
        refs, cands = {names[0]: next(iter(refs.values()))}, {names[0]: next(iter(cands.values()))}
    for what, seqs in (("reference", refs), ("candidate", cands)):
        missing = [n for n in names if n not in seqs]
        if missing:
            raise EdgeVSRError(f"{what}: no sequence(s) {', '.join(missing[:5])} (have {', '.join(list(seqs)[:5])})")
    metrics = scorer.options.metric_names()
    vs_ref = DatasetScores("candidate vs reference", metrics)
    cand_gt = DatasetScores("candidate vs gt", metrics) if gts is not None else None
    ref_gt = DatasetScores("reference vs gt", metrics) if gts is not None else None
    pairs = [("candidate", "reference")] + ([("candidate", "gt"), ("reference", "gt")] if gts is not None else [])
    for name in names:
        streams = {"candidate": cands[name], "reference": refs[name]}
        frame_names = None
        if gts is not None:
            streams["gt"] = gts[name]
            frame_names = getattr(getattr(gts[name], "info", None), "names", None)
        r = scorer.score_sequence(name, streams, pairs, frame_names, on_frames)
        vs_ref.sequences.append(r[("candidate", "reference")])
        if gts is not None:
            cand_gt.sequences.append(r[("candidate", "gt")])
            ref_gt.sequences.append(r[("reference", "gt")])
    checks = []
    cm = cand_gt.mean() if cand_gt else {}
    rm = ref_gt.mean() if ref_gt else {}
    vm = vs_ref.mean()
    for key, limit in budget.given().items():
        metric, kind, op = _CHECKS[key]
        if metric not in metrics:
            raise EdgeVSRError(f"--{key.replace('_', '-')} needs the {metric} metric, which is switched off")
        value = _gate_value(kind, metric, cm, rm, vm)
        ok = value <= limit if op == "<=" else value >= limit
        checks.append(GateCheck(key, metric, float(value), float(limit), bool(ok and not math.isnan(value))))
    return GateResult(all(c.passed for c in checks), checks, vs_ref, cand_gt, ref_gt)
