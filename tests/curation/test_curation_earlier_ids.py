"""A curation resumed after the rules for video ids changed (2026-12-05 and -06: videos alike up to letter case)
keeps the ids the index records for the same inputs: before, it curated them again under the new ids, the old
folders left beside them (a dataset holding each video twice). In-process with a stand-in for ``curate_video``."""

from __future__ import annotations

import json
from pathlib import Path

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation.frames import VideoSource
from genxd.curation.pipeline import video_record


def _stand_in(calls: list[str]):
    def curate_video(source, out_dir, config, on_stage=None, on_note=None):
        calls.append(source.video_id)
        folder = Path(out_dir) / source.video_id
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"verdict": "static", "motion_strength": 0.0,
                                                      "config": config.to_dict()}))
        return video_record(source, "ok", verdict="static", motion_strength=0.0)

    return curate_video


def _videos(root: Path, *names: str) -> list[Path]:
    root.mkdir(parents=True)
    for name in names:
        (root / name).write_bytes(b"only the names are read here")
    return [root / name for name in names]


def test_a_resume_keeps_the_ids_an_earlier_run_gave_the_same_inputs(tmp_path, monkeypatch):
    """``genxd curate v/Clip.mp4 v/clip.MOV`` before 13d3575 gave Clip_8966dd8e / clip_a388bf7e (here: the ids given
    as the earlier rules gave them); the same command now computes Clip_mp4 / clip_MOV, and curated both again."""
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    given = _videos(tmp_path / "v", "Clip.mp4", "clip.MOV", "other.mp4")
    out = tmp_path / "out"
    earlier = [VideoSource("Clip_8966dd8e", given[0], "video"), VideoSource("clip_a388bf7e", given[1], "video"),
               VideoSource("other", given[2], "video")]
    curate_dataset(earlier, out, CurationConfig(), progress=False)
    assert sorted(calls) == ["Clip_8966dd8e", "clip_a388bf7e", "other"]

    summary = curate_dataset(given, out, CurationConfig(), progress=False)
    assert sorted(calls) == ["Clip_8966dd8e", "clip_a388bf7e", "other"]  # none curated again
    assert summary.skipped == 3
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["Clip_8966dd8e", "clip_a388bf7e", "other"]

    (tmp_path / "v" / "new.mp4").write_bytes(b"x")  # a new input beside them: its own id, as always
    curate_dataset([*given, tmp_path / "v" / "new.mp4"], out, CurationConfig(), progress=False)
    assert calls[-1] == "new" and len(calls) == 4


def test_ids_the_caller_chose_and_ids_another_input_has_now_are_kept(tmp_path, monkeypatch):
    """An id given with a VideoSource is the caller's choice; an earlier id that another input of the run has now
    (up to case) is not taken back: those inputs are curated under their ids, as before."""
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    a, b = _videos(tmp_path / "v", "a.mp4", "b.mp4")
    out = tmp_path / "out"
    curate_dataset([VideoSource("first", a, "video")], out, CurationConfig(), progress=False)
    curate_dataset([VideoSource("second", a, "video")], out, CurationConfig(), progress=False)
    assert calls == ["first", "second"]  # the caller's id, though the index records "first" for a.mp4
    other = tmp_path / "out2"
    curate_dataset([VideoSource("X", a, "video")], other, CurationConfig(), progress=False)
    # a.mp4 given by path: "a"; the index's "X" for it is alike "x", the caller's id of b.mp4 in this run
    curate_dataset([VideoSource("x", b, "video"), a], other, CurationConfig(), progress=False)
    assert calls == ["first", "second", "X", "x", "a"]


def test_a_video_given_through_a_link_resumes_under_the_id_it_was_curated_under(tmp_path, monkeypatch):
    """``genxd curate v`` over ``clip.mp4`` and ``link.mp4 -> clip.mp4`` curates the file once, as ``clip``; given
    then as ``v/link.mp4`` (or a frames folder through a link to it), it was curated again as ``link``: the dataset
    held the video twice. The index records the path as given, so the file a link names is compared too."""
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    _videos(tmp_path / "v", "clip.mp4", "other.mp4")
    (tmp_path / "v" / "link.mp4").symlink_to("clip.mp4")
    (tmp_path / "frames" / "shot").mkdir(parents=True)
    (tmp_path / "frames" / "shot" / "0000.png").write_bytes(b"")
    (tmp_path / "shot_link").symlink_to(tmp_path / "frames" / "shot")
    out = tmp_path / "out"
    curate_dataset([tmp_path / "v", tmp_path / "frames"], out, CurationConfig(), progress=False)
    assert sorted(calls) == ["clip", "other", "shot"]

    with open(out / "index.jsonl", "a") as fh:  # a line written by hand, whose path no file can have: passed over
        fh.write(json.dumps({"video_id": "odd", "source": "v/\u0000.mp4", "status": "ok"}) + "\n")
    summary = curate_dataset([tmp_path / "v" / "link.mp4", tmp_path / "shot_link"], out, CurationConfig(),
                             progress=False)
    assert sorted(calls) == ["clip", "other", "shot"] and summary.skipped == 2  # none curated again
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["clip", "other", "shot"]

    (tmp_path / "v" / "link.mp4").unlink()  # the link now names another file, curated as other: done too
    (tmp_path / "v" / "link.mp4").symlink_to("other.mp4")
    assert curate_dataset(tmp_path / "v" / "link.mp4", out, CurationConfig(), progress=False).skipped == 1
    (tmp_path / "v" / "new.mp4").write_bytes(b"x")  # a file no record names: its own id, as always
    curate_dataset(tmp_path / "v" / "new.mp4", out, CurationConfig(), progress=False)
    assert calls[-1] == "new" and len(calls) == 4
