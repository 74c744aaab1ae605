"""Long or large videos: a read that would not fit the frame-memory limit fails with what to pass instead (before
the frames are decoded when the count is known), and frames spread over a clip cover the whole clip even when the
container states a wrong frame count."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest

import genxd.curation.frames as frames_module
from genxd.curation import read_frames
from genxd.curation.frames import FrameMemoryError, VideoReadError, count_frames

FRAME_BYTES = 20 * 30 * 3  # the frames below: 30x20 RGB


def _folder(path, n: int = 10):
    path.mkdir(parents=True)
    for i in range(n):
        PIL.Image.fromarray(np.full((20, 30, 3), 20 * i, np.uint8)).save(path / f"{i:03d}.png")
    return path


def test_a_read_over_the_limit_fails_before_decoding_with_what_to_pass(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "frames")
    decoded = []
    real = frames_module._read_image_upright
    monkeypatch.setattr(frames_module, "_read_image_upright", lambda f: decoded.append(f) or real(f))
    with pytest.raises(FrameMemoryError) as err:
        read_frames(folder, max_bytes=5 * FRAME_BYTES - 1)
    message = str(err.value)
    assert "10 frames of 30x20" in message and "max_frames=4" in message and "resize" in message, message
    assert "--" not in message  # worded for Python; the command line's wording is tested below
    assert len(decoded) == 1  # the count is known: stopped at the first frame
    assert isinstance(err.value, VideoReadError)  # callers that handle unreadable videos handle this too
    # what fits is read: every 3rd frame (4 frames), at most 4 frames, 4 picked frames, a smaller size
    assert len(read_frames(folder, stride=3, max_bytes=4 * FRAME_BYTES)) == 4
    assert len(read_frames(folder, max_frames=4, max_bytes=4 * FRAME_BYTES)) == 4
    assert len(read_frames(folder, indices=[0, 3, 6, 9], max_bytes=4 * FRAME_BYTES)) == 4
    assert read_frames(folder, resize=15, max_bytes=5 * FRAME_BYTES - 1).shape == (10, 10, 15, 3)
    with pytest.raises(FrameMemoryError):
        read_frames(folder, stride=2, max_bytes=4 * FRAME_BYTES)  # 5 frames
    with pytest.raises(ValueError, match="max_bytes"):
        read_frames(folder, max_bytes=0)


def test_without_a_stated_count_the_read_stops_once_over_the_limit(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "frames")
    monkeypatch.setattr(frames_module, "count_frames", lambda source, exact=False: None)
    with pytest.raises(FrameMemoryError, match=r"more than 3 frames of 30x20"):
        read_frames(folder, max_bytes=3 * FRAME_BYTES + 10)
    assert len(read_frames(folder, max_bytes=10 * FRAME_BYTES)) == 10


@pytest.mark.parametrize("stated", [None, 3, 6, 14])
def test_frames_spread_over_a_clip_cover_it_whatever_count_the_container_states(tmp_path, monkeypatch, stated):
    # 10 frames; the container says none, 3 or 6 (fewer than it holds) or 14 (more): the picks still span 0 .. 9
    from genxd.cameras.clip_cameras import _read_clip

    folder = _folder(tmp_path / "frames")
    real = frames_module.count_frames
    monkeypatch.setattr(frames_module, "count_frames",
                        lambda source, exact=False: real(source, exact=True) if exact else stated)
    frames, picked = _read_clip(folder, None, 4, None)
    assert picked.tolist() == [0, 3, 6, 9]
    assert [int(f[0, 0, 0]) for f in frames] == [0, 60, 120, 180]


def test_an_exact_count_decodes_the_video(tmp_path):
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        for i in range(7):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((16, 32, 3), 30 * i, np.uint8),
                                                                   format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert count_frames(path) == 7 and count_frames(path, exact=True) == 7
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    assert count_frames(tmp_path / "broken.mp4", exact=True) is None


def test_curation_fails_a_video_over_the_frame_memory_limit_at_the_read_stage(tmp_path):
    pytest.importorskip("pycolmap")
    from typer.testing import CliRunner

    from genxd.cli import app

    _folder(tmp_path / "clip" / "frames", n=12)
    limit_gib = 5 * FRAME_BYTES / 2**30
    res = CliRunner().invoke(app, ["curate", str(tmp_path / "clip" / "frames"), "--out", str(tmp_path / "out"),
                                   "--max-frame-memory", f"{limit_gib:.12f}", "-q"])
    assert res.exit_code == 2, res.output  # every video failed at reading: the input's fault, as for unreadable files
    assert "failed (read)" in res.output and "12 frames of 30x20" in res.output, res.output
    assert "--max-frame-memory" in res.output and "Traceback" not in res.output, res.output
    record = json.loads((tmp_path / "out" / "index.jsonl").read_text().splitlines()[0])
    assert record["status"] == "failed" and record["stage"] == "read", record
    assert not (tmp_path / "out" / record["video_id"] / "images").exists()  # nothing decoded, nothing written
    bad = CliRunner().invoke(app, ["curate", str(tmp_path / "clip" / "frames"), "--out", str(tmp_path / "o2"),
                                   "--max-frame-memory", "0"])
    assert bad.exit_code == 2 and "--max-frame-memory" in bad.output, bad.output


def test_worker_processes_word_the_reason_for_their_caller(tmp_path, forkserver_workers):
    """Through worker processes (``workers=2``, ``--workers 2``) the reason is worded for the caller: ``max_frames=``
    from Python, ``--max-frames`` from the command line (the parent's caller goes with each task explicitly). The
    workers come from a fork server (``forkserver_workers``), a fresh interpreter that inherits nothing of this
    process's wording either: two spawned pools cost 4 interpreters importing torch (17 s of 2 loaded cores)."""
    pytest.importorskip("pycolmap")
    from typer.testing import CliRunner

    from genxd.cli import app
    from genxd.curation import CurationConfig, curate_dataset

    clips = [_folder(tmp_path / name / "frames", n=12).parent for name in ("a", "b")]
    limit_gib = 5 * FRAME_BYTES / 2**30
    summary = curate_dataset([c / "frames" for c in clips], tmp_path / "py",
                             CurationConfig(max_frame_memory_gib=limit_gib), workers=2, progress=False)
    records = [json.loads(line) for line in (tmp_path / "py" / "index.jsonl").read_text().splitlines()]
    assert summary.failed == 2 and len(records) == 2, summary
    for record in records:
        assert "(max_frames=5, or a stride)" in record["reason"] and "max_frame_memory_gib" in record["reason"], record
        assert "--" not in record["reason"], record
    res = CliRunner().invoke(app, ["curate", *[str(c / "frames") for c in clips], "--out", str(tmp_path / "cli"),
                                   "--max-frame-memory", f"{limit_gib:.12f}", "--workers", "2", "-q"])
    assert res.exit_code == 2, res.output
    for line in (tmp_path / "cli" / "index.jsonl").read_text().splitlines():
        reason = json.loads(line)["reason"]
        assert "(--max-frames 4, or a --stride)" in reason and "--max-frame-memory" in reason and "max_frames=" not in reason, reason
