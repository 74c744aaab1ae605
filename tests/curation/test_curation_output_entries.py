"""Entries of the dataset folder that are not what genxd curate wrote there (a folder where its lock file or a
video's meta.json goes, a damaged meta.json), and the index lines that report them. Videos here are fakes
(``_curate_task`` replaced): no video is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genxd.curation import dataset
from genxd.curation.frames import VideoSource
from genxd.curation.pipeline import CurationConfig, video_record


def _sources(count: int) -> list[VideoSource]:
    return [VideoSource(f"v{i:03d}", Path(f"/nonexistent/v{i:03d}.mp4"), "video") for i in range(count)]


def _fake_record(source: VideoSource, *args, **kwargs) -> dict:
    return video_record(source, "ok", verdict="static", motion_strength=0.0, num_frames=8, num_registered=8)


def test_damaged_folder_is_logged_once_whatever_the_spelling_of_the_output_folder(tmp_path, monkeypatch):
    """The failure line names the folder: a rerun with -o spelt otherwise (relative, then absolute) wrote it again,
    since the reasons differed in the folder's spelling alone."""
    monkeypatch.setattr(dataset, "_curate_task", _fake_record)
    (tmp_path / "out" / "v000").mkdir(parents=True)  # no meta.json
    (tmp_path / "out" / "v001").mkdir()
    (tmp_path / "out" / "v001" / "meta.json").write_text("{damaged")
    monkeypatch.chdir(tmp_path)
    dataset.curate_dataset(_sources(2), Path("out"), CurationConfig(), progress=False)
    dataset.curate_dataset(_sources(2), tmp_path / "out", CurationConfig(), progress=False)
    dataset.curate_dataset(_sources(2), Path("./out/../out"), CurationConfig(), progress=False)
    lines = (tmp_path / "out" / "index.jsonl").read_text().splitlines()
    assert len(lines) == 2, lines
    for line, video_id in zip(lines, ("v000", "v001")):
        assert str(tmp_path / "out" / video_id) in json.loads(line)["reason"]


def test_a_folder_where_the_lock_file_goes_is_one_clear_error(tmp_path, monkeypatch):
    """OUT/.curate.lock a folder: the run stopped with the bare errno text ('[Errno 21] Is a directory')."""
    monkeypatch.setattr(dataset, "_curate_task", _fake_record)
    (tmp_path / "out" / dataset.LOCK_NAME).mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=r"\.curate\.lock: expected the curation's lock file, found a folder"):
        dataset.curate_dataset(_sources(1), tmp_path / "out", CurationConfig(), progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [dataset.LOCK_NAME]


def test_a_folder_where_a_videos_meta_json_goes_is_that_videos_failure_not_the_runs(tmp_path, monkeypatch):
    """OUT/v000/meta.json a folder stopped the whole run (IsADirectoryError from reading it) before any video; now
    that video is recorded as failed, as a damaged meta.json is, and the others are curated."""
    monkeypatch.setattr(dataset, "_curate_task", _fake_record)
    (tmp_path / "out" / "v000" / "meta.json").mkdir(parents=True)
    summary = dataset.curate_dataset(_sources(2), tmp_path / "out", CurationConfig(), progress=False)
    assert (summary.ok, summary.failed) == (1, 1)
    [failed] = [r for r in summary.records if r["status"] == "failed"]
    assert failed["video_id"] == "v000" and failed["stage"] == "output"
    assert "meta.json: is a folder, not a file; remove" in failed["reason"]
