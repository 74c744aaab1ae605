"""Ids given with a ``VideoSource`` (the caller's choice) are checked before anything is written: each must be one
folder name of the dataset folder. Unchecked, ``""`` failed the video with "OUT exists but has no meta.json; remove it
to redo this video" (advice to delete the whole dataset), ``"../x"`` and ``"a/b"`` with an internal
``FileNotFoundError`` and its traceback, ``".x.part"`` was curated into a folder the next run deletes as a killed
run's temporary one, and ``"index.jsonl"`` took the index's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.curation import CurationConfig, curate_dataset, curate_video
from genxd.curation.frames import VideoSource

BAD_IDS = ["", ".", "..", "../x", "a/b", "a\\b", ".x.part", ".hidden", "index.jsonl", "INDEX.jsonl", "a\0b",
           "x" * 256, 3, None]


@pytest.mark.parametrize("video_id", BAD_IDS, ids=repr)
def test_a_chosen_id_that_is_no_folder_name_is_refused_before_anything_is_written(tmp_path, video_id):
    (tmp_path / "a.mp4").write_bytes(b"x")
    out = tmp_path / "out"
    source = VideoSource(video_id, tmp_path / "a.mp4", "video")
    with pytest.raises(ValueError, match=r"^video id .* of .*a\.mp4 must be one folder name"):
        curate_dataset([source], out, CurationConfig(), progress=False)
    assert not out.exists()
    with pytest.raises(ValueError, match=r"^video id .* of .*a\.mp4 must be one folder name"):
        curate_video(source, out, CurationConfig())
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_good_chosen_ids_are_kept(tmp_path, monkeypatch):
    from genxd.curation.dataset import _collect_sources

    (tmp_path / "a.mp4").write_bytes(b"x")
    for video_id in ("clip", "café_東京", "a.b-c_d", "x" * 200):
        [got] = _collect_sources([VideoSource(video_id, tmp_path / "a.mp4", "video")], tmp_path / "out")
        assert got.video_id == video_id


@pytest.mark.parametrize("ids", [("x", "x"), ("X", "x"), ("clip", None)])
def test_a_chosen_id_another_input_has_is_refused_not_replaced(tmp_path, ids):
    """Two inputs given one id (or one alike up to case; or a chosen id a folder's video also gets) were both given ids
    made from their paths instead (``a__1``, ``b__2``), though a chosen id is kept as given: the caller's ids were
    dropped without a word."""
    for name in ("a/1.mp4", "b/clip.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    first = VideoSource(ids[0], tmp_path / "a" / "1.mp4", "video")
    second = VideoSource(ids[1], tmp_path / "b" / "clip.mp4", "video") if ids[1] else tmp_path / "b"
    with pytest.raises(ValueError, match=rf"^video id {ids[0]!r} of .*1\.mp4 is also the id of .*clip\.mp4"):
        curate_dataset([first, second], tmp_path / "out", CurationConfig(), progress=False)
    assert not (tmp_path / "out").exists()
