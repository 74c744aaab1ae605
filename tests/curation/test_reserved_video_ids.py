"""A video named like a file of the dataset folder itself (``index.jsonl.mp4``, a frames folder ``index.jsonl``): its
id was ``index.jsonl``, so its folder took the index's name. Curated first, it was renamed to ``OUT/index.jsonl`` and
the run, and every later run on the folder, stopped with "[Errno 21] Is a directory: 'OUT/index.jsonl'"; curated after
another video, it failed with "exists but has no meta.json". In-process with a stand-in for ``curate_video``."""

from __future__ import annotations

import pytest

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation.frames import discover_videos
from genxd.curation.video_ids import safe_video_id

from .test_curation_taken_ids import _stand_in  # curate_video's stand-in: a folder with its meta.json, or a failure


@pytest.mark.parametrize("names", [["index.jsonl.mp4"], ["a.mp4", "index.jsonl.mp4"], ["a.mp4", "index.jsonl"]])
def test_a_video_named_like_the_index_is_curated_beside_it(tmp_path, monkeypatch, names):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    (tmp_path / "in").mkdir()
    for name in names:
        if name.endswith(".mp4"):
            (tmp_path / "in" / name).write_bytes(b"x")
        else:  # a frames folder
            (tmp_path / "in" / name).mkdir()
            (tmp_path / "in" / name / "0.png").write_bytes(b"x")
    out = tmp_path / "out"
    summary = curate_dataset(tmp_path / "in", out, CurationConfig(), progress=False)
    assert summary.ok == len(names) and (out / "index.jsonl").is_file()
    assert len(read_index(out)) == len(names) and "index.jsonl" not in calls, calls
    again = curate_dataset(tmp_path / "in", out, CurationConfig(), progress=False)
    assert (again.ok, again.failed, again.skipped) == (0, 0, len(names)) and len(calls) == len(names)


def test_ids_are_never_the_index_name_and_stay_distinct():
    ids = {safe_video_id(name) for name in ("index.jsonl", "Index.JSONL", "index_jsonl", "index.json")}
    assert len(ids) == 4 and not {i.lower() for i in ids} & {"index.jsonl"}
    assert safe_video_id("index.jsonl") == safe_video_id("index.jsonl")  # a rerun finds the same id
    assert safe_video_id("sub__index.jsonl") == "sub__index.jsonl"  # only the name itself


def test_a_searched_folder_gives_no_index_id(tmp_path):
    (tmp_path / "index.jsonl.mp4").write_bytes(b"x")
    (tmp_path / "index.jsonl").mkdir()  # frames folder alike
    (tmp_path / "index.jsonl" / "0.png").write_bytes(b"x")
    assert not [s for s in discover_videos(tmp_path) if s.video_id.lower() == "index.jsonl"]
