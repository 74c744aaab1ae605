"""A video changed since it was curated (a card's GOPR0001.MP4 copied over the last card's in one import folder, a
copy that was still running when it was curated) is kept as it was, as every done video is, but no longer without a
word: the run warns naming it, its size then and now (each result and index line records the size of the file it
was curated from). In-process, the stages stood in for (only the frames are not read)."""

from __future__ import annotations

import json
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
