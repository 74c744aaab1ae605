"""A video changed since it was curated (a card's GOPR0001.MP4 copied over the last card's in one import folder, a
copy that was still running when it was curated) is kept as it was, as every done video is, but no longer without a
word: the run warns naming it, its size then and now (each result and index line records the size of the file it
was curated from) or, with the same size, its modification time (``source_mtime_ns``: a file rewritten in place).
In-process, the stages stood in for (only the frames are not read)."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import pipeline


@pytest.fixture
def curated(monkeypatch) -> list[str]:
    calls: list[str] = []

    def stages(source, folder, config, masker, on_stage, note_now):
        calls.append(source.video_id)
        meta = {"verdict": "static", "motion_strength": 0.0, "num_frames": 8, "num_registered": 8,
                "mean_reprojection_error": 0.5, "config": config.to_dict()}
        (folder / "meta.json").write_text(json.dumps(meta))
        return meta

    monkeypatch.setattr(pipeline, "_curate_into", stages)
    return calls


def _curate(root, out):
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        summary = curate_dataset(root, out, CurationConfig(), progress=False)
    return summary, [str(w.message) for w in said]


def test_a_video_changed_since_it_was_curated_is_kept_with_a_warning(tmp_path, curated):
    (tmp_path / "in").mkdir()
    clip, other = tmp_path / "in" / "clip.mp4", tmp_path / "in" / "other.mp4"
    clip.write_bytes(b"x" * 10)
    other.write_bytes(b"o" * 7)
    out = tmp_path / "out"
    _curate(tmp_path / "in", out)
    assert [r["source_bytes"] for r in read_index(out)] == [10, 7]
    assert json.loads((out / "clip" / "meta.json").read_text())["source_bytes"] == 10

    clip.write_bytes(b"y" * 25)  # another video at the same path
    summary, said = _curate(tmp_path / "in", out)
    assert curated == ["clip", "other"] and summary.skipped == 2  # kept, as before
    assert said == [f"1 video changed since it was curated and is kept as it was: clip ({clip}: 10 bytes then, 25 "
                    "now); to curate it again, remove its folder"], said  # was: no word

    (out / "index.jsonl").unlink()  # its line lost: the size is read from its meta.json
    summary, said = _curate(tmp_path / "in", out)
    assert summary.recovered == 2 and len(said) == 1 and said[0].startswith("1 video changed"), said


def test_an_unchanged_video_and_a_result_without_a_size_say_nothing(tmp_path, curated):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"x" * 10)
    out = tmp_path / "out"
    _curate(tmp_path / "in", out)
    assert _curate(tmp_path / "in", out)[1] == []
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    for record in lines:
        record.pop("source_bytes")  # an index written before records carried the size
    (out / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    meta = json.loads((out / "clip" / "meta.json").read_text())
    meta.pop("source_bytes")
    (out / "clip" / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "in" / "clip.mp4").write_bytes(b"y" * 25)
    assert _curate(tmp_path / "in", out)[1] == []  # nothing to compare with


def _rewritten_in_place(path, data: bytes) -> None:
    """``path`` written again with ``data`` of its length, its modification time a second later (a re-export or a
    repair in place; set explicitly: two writes within a clock tick can share one)."""
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_video_rewritten_in_place_with_the_same_size_is_named_in_the_same_warning(tmp_path, curated):
    (tmp_path / "in").mkdir()
    clip = tmp_path / "in" / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    out = tmp_path / "out"
    _curate(tmp_path / "in", out)
    [record] = read_index(out)
    assert record["source_mtime_ns"] == clip.stat().st_mtime_ns
    assert json.loads((out / "clip" / "meta.json").read_text())["source_mtime_ns"] == clip.stat().st_mtime_ns

    _rewritten_in_place(clip, b"y" * 10)
    summary, said = _curate(tmp_path / "in", out)
    assert curated == ["clip"] and summary.skipped == 1
    assert said == [f"1 video changed since it was curated and is kept as it was: clip ({clip}: 10 bytes then and "
                    "now, but modified since); to curate it again, remove its folder"], said  # was: no word

    (out / "index.jsonl").unlink()  # its line lost: the time is read from its meta.json
    summary, said = _curate(tmp_path / "in", out)
    assert summary.recovered == 1 and len(said) == 1 and "but modified since" in said[0], said


def test_a_result_recorded_with_its_size_only_is_compared_by_size(tmp_path, curated):
    """Results written before records carried the modification time: a rewrite of the same size says nothing (there
    is no time to compare with), another size is named as before."""
    (tmp_path / "in").mkdir()
    clip = tmp_path / "in" / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    out = tmp_path / "out"
    _curate(tmp_path / "in", out)
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    for record in lines:
        record.pop("source_mtime_ns")
    (out / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    meta = json.loads((out / "clip" / "meta.json").read_text())
    meta.pop("source_mtime_ns")
    (out / "clip" / "meta.json").write_text(json.dumps(meta))

    _rewritten_in_place(clip, b"y" * 10)
    assert _curate(tmp_path / "in", out)[1] == []
    clip.write_bytes(b"z" * 12)
    assert _curate(tmp_path / "in", out)[1] == [
        f"1 video changed since it was curated and is kept as it was: clip ({clip}: 10 bytes then, 12 now); to "
        "curate it again, remove its folder"]
