"""edgevsr batch without Ray: inputs and output safety, chunk planning, journal staleness, segment stitching."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import decode, library, pan, shots, stream_types
from conftest import write_video

from edgevsr.batch.chunks import VideoPlan, plan_chunks, probe_video, read_frames
from edgevsr.batch.inputs import check_outputs, collect_inputs
from edgevsr.batch.journal import Journal, input_identity
from edgevsr.batch.stitch import encode_segment, stitch
from edgevsr.errors import EdgeVSRError


def test_inputs_folders_manifests_and_relative_outputs(tmp_path):
    vids = library(tmp_path / "in")
    (tmp_path / "in" / "notes.txt.bak").write_text("not a video")
    manifest = tmp_path / "list.txt"
    manifest.write_text(f"# two of them\n{vids['a']}\nin/sub/b.mp4\n\n")
    found = collect_inputs([tmp_path / "in"])
    assert [str(i.rel) for i in found] == ["a.mp4", "c.mp4", "sub/b.mp4"]
    listed = collect_inputs([manifest])
    assert [str(i.rel) for i in listed] == ["in/a.mp4", "in/sub/b.mp4"]
    assert collect_inputs([tmp_path / "in" / "sub" / "b.mp4"])[0].rel == Path("b.mp4")
    (tmp_path / "x.avi").write_bytes(b"")
    assert collect_inputs([tmp_path / "x.avi"])[0].rel == Path("x.mkv")  # avi cannot hold what we copy


def test_output_inside_input_and_collisions_are_refused(tmp_path):
    library(tmp_path / "in")
    inputs = collect_inputs([tmp_path / "in"])
    with pytest.raises(EdgeVSRError, match="inside input folder"):
        check_outputs(inputs, tmp_path / "in" / "out")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "in")
    with pytest.raises(EdgeVSRError, match="inside input folder"):
        check_outputs(inputs, link / "up")  # compared after resolving links
    with pytest.raises(EdgeVSRError, match="both be written"):
        check_outputs(collect_inputs([tmp_path / "in" / "a.mp4", tmp_path / "in" / "sub"]) +
                      collect_inputs([tmp_path / "in" / "a.mp4"]), tmp_path / "out")
    with pytest.raises(EdgeVSRError, match="no such file"):
        collect_inputs([tmp_path / "missing.mp4"])
    bad = tmp_path / "m.txt"
    bad.write_text("nope.mp4\n")
    with pytest.raises(EdgeVSRError, match=r"m.txt:1: nope.mp4"):
        collect_inputs([bad])


def test_chunks_start_at_cuts_and_mid_shot_chunks_get_a_lead_in(tmp_path):
    path = write_video(tmp_path / "v.mp4", shots([10, 5]))
    plan = probe_video(path, 0.1)
    assert plan.frames == 15 and plan.cuts == [10]
    chunks = plan_chunks(0, plan, max_frames=4, lead=3)
    assert [(c.start, c.end, c.lead) for c in chunks] == [(0, 4, 0), (4, 8, 3), (8, 10, 3), (10, 14, 0), (14, 15, 3)]
    windowed = plan_chunks(0, plan, max_frames=4, lead=1, tail=1)
    assert [(c.lead, c.tail) for c in windowed][:3] == [(0, 1), (1, 1), (1, 0)]  # never across a cut
    got = [i for i, _ in read_frames(path, plan, 6, 12)]  # seek, then decode forward
    assert got == list(range(6, 12))
    whole = [f for _, f in read_frames(path, plan, 0, 15)]
    assert all((a == b).all() for a, b in zip(whole[6:12], [f for _, f in read_frames(path, plan, 6, 12)]))


def test_damaged_video_is_named(tmp_path):
    vids = library(tmp_path / "in")
    with pytest.raises(EdgeVSRError, match=r"c.mp4: (not a readable video|video is damaged|damaged or truncated)"):
        probe_video(vids["c"], 0.1)


def test_segments_stitch_without_reencoding_keep_timestamps_and_audio(tmp_path):
    src = write_video(tmp_path / "s.mp4", pan(12), fps=24, audio=True)
    plan = probe_video(src, 0.1)
    segs = []
    for k, (lo, hi) in enumerate([(0, 5), (5, 12)]):
        data, stamps = encode_segment(read_frames(src, plan, lo, hi), plan, crf=0)
        seg = tmp_path / f"seg{k}.nut"
        seg.write_bytes(data)
        segs.append((seg, stamps))
    info = stitch(segs, src, plan.time_base, tmp_path / "o.mp4")
    assert info["packets"] == 12 and info["copied_streams"] == ["audio #1 (aac)"]
    assert stream_types(tmp_path / "o.mp4") == ["video", "audio"]
    frames, times = decode(tmp_path / "o.mp4")
    src_frames, src_times = decode(src)
    assert times == pytest.approx(src_times, abs=1e-6)
    whole, _ = encode_segment(read_frames(src, plan, 0, 12), plan, crf=0)
    (tmp_path / "whole.nut").write_bytes(whole)
    assert all((a == b).all() for a, b in zip(frames, decode(tmp_path / "whole.nut")[0]))  # lossless: same pictures


def test_journal_reuses_only_what_is_unchanged(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    seg = work / "k1.nut"
    seg.write_bytes(b"segment bytes")
    j = Journal(work, resume=False)
    j.record_chunk("k1", seg, [[0, 0]], {})
    j.close()
    j = Journal(work, resume=True)
    assert j.done_chunk("k1", seg)["stamps"] == [[0, 0]]
    seg.write_bytes(b"segment bytez")  # same size, other content: stale
    assert j.done_chunk("k1", seg) is None
    j.close()
    assert Journal(work, resume=False).chunks == {}  # a fresh job forgets chunks
    video = write_video(tmp_path / "v.mp4", pan(4))
    before = input_identity(video)
    write_video(video, pan(4, x0=41))
    assert input_identity(video) != before


def test_videoplan_roundtrip():
    p = VideoPlan(2, [0, 512], (1, 12288), 24.0, 64, 48, [], "yuv420p", {"colorspace": 1}, 0.1)
    assert VideoPlan.from_json(p.to_json()) == p


def write_10bit(path: Path, frames: list) -> Path:
    """BT.709 limited-range 10-bit H.264, as a grading suite would hand it over."""
    import av

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=24)
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = "yuv420p10le"
        cc = vs.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
        for f in frames:
            deep = (f.astype("uint16") * 257)  # 8-bit photo spread over 16 bits, plus sub-8-bit detail below
            deep[..., 1] += 100
            for p in vs.encode(av.VideoFrame.from_ndarray(deep, format="rgb48le")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return path


def test_10bit_stays_10bit_with_colour_tags(tmp_path):
    import av

    from edgevsr.backends.registry import RunnerConfig, make_runner
    from edgevsr.batch.chunks import Chunk
    from edgevsr.batch.workers import upscale_chunk

    src = write_10bit(tmp_path / "deep.mkv", pan(6))
    plan = probe_video(src, 0.1)
    assert plan.bits == 10 and plan.colour == {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 1}
    runner, _ = make_runner(RunnerConfig(model="bicubic-bd"))
    with runner:
        data, stamps = upscale_chunk(runner, src, plan, Chunk(0, 0, 0, 6), crf=0)
    seg = tmp_path / "s.nut"
    seg.write_bytes(data)
    stitch([(seg, stamps)], src, plan.time_base, tmp_path / "o.mkv")
    with av.open(str(tmp_path / "o.mkv")) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.pix_fmt, cc.width, cc.height) == ("yuv420p10le", 256, 192)
        assert (cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range) == (1, 1, 1, 1)
        frame = next(c.decode(video=0)).to_ndarray(format="rgb48le")
    assert (frame % 257 != 0).mean() > 0.5  # values between 8-bit steps survive: not squeezed through 8 bits


def test_resume_reuses_a_journal_made_before_per_backend_options(tmp_path):
    """`edgevsr batch --onnx m.onnx` (backend left at torch) journalled its runner as given, backend "torch",
    before RunnerConfig picked the backend from the file; resuming that job now reuses its chunks and outputs."""
    from edgevsr.backends.registry import runner_config
    from edgevsr.batch.job import BatchJob, BatchOptions
    from edgevsr.batch.journal import digest, file_identity

    (tmp_path / "in").mkdir()
    srcs = [write_video(tmp_path / "in" / f"{n}.mp4", pan(6, x0=40 + 7 * k)) for k, n in enumerate("ab")]
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"an export")
    opts = BatchOptions(out_dir=tmp_path / "out", runner=runner_config(onnx=onnx), resume=True)
    job = BatchJob([tmp_path / "in"], opts)
    old_runner = {"model": None, "weights": None, "backend": "torch", "precision": None, "onnx": file_identity(onnx)}

    def old_key(src):
        return digest({"input": input_identity(src), "runner": old_runner, "crf": opts.crf,
                       "chunk_seconds": opts.chunk_seconds, "lead_in": opts.lead_in, "scene_cut": opts.scene_cut,
                       "version": 1})

    done, half = job.inputs  # a.mp4 finished, b.mp4 had its chunk done when the driver died
    job.work.mkdir(parents=True)
    journal = Journal(job.work, resume=False)
    done.dst.parent.mkdir(parents=True, exist_ok=True)
    done.dst.write_bytes(b"finished output")
    journal.record_output(old_key(srcs[0]), done.dst)
    plan = probe_video(srcs[1], opts.scene_cut)
    (chunk,) = plan_chunks(1, plan, 1000, opts.lead_in, 0)
    chunk_key = digest({"input": old_key(srcs[1]), "range": [chunk.start, chunk.end, chunk.lead, chunk.tail]})
    job.seg_dir.mkdir()
    seg = job.seg_dir / f"{chunk_key}.nut"
    seg.write_bytes(b"segment")
    journal.record_chunk(chunk_key, seg, [[0, 0]], {})
    journal.close()

    journal = Journal(job.work, resume=True)
    job._prepare(journal)
    assert done.status == "skipped"
    half.plan = plan
    job._make_chunks(half, {"kind": "recurrent"}, journal, pending := [])
    journal.close()
    assert half.reused == 1 and pending == []
