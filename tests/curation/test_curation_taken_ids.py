"""A video whose id the output folder already holds for another video (cameras name every card's files alike:
``card1/GOPR0001.MP4`` curated one day, ``card2/GOPR0001.MP4`` the next, each folder searched alone) is curated under
an id of its own, not skipped as done: ``genxd curate card2 --out ds`` reported "1 already done" and the dataset never
held the second card's video. The same video moved or copied elsewhere is still found done (a resume).
In-process with a stand-in for ``curate_video``."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation.pipeline import video_record


def _stand_in(calls: list[str], fail: bool = False):
    def curate_video(source, out_dir, config, on_stage=None, on_note=None):
        calls.append(source.video_id)
        if fail:
            return video_record(source, "failed", stage="sfm", reason="too little camera motion")
        folder = Path(out_dir) / source.video_id
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"source": str(source.path), "verdict": "static",
                                                      "motion_strength": 0.0, "config": config.to_dict()}))
        return video_record(source, "ok", verdict="static", motion_strength=0.0)

    return curate_video


def _card(root: Path, content: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "GOPR0001.MP4").write_bytes(content)
    return root


def _curate(inputs, out: Path):
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        summary = curate_dataset(inputs, out, CurationConfig(), progress=False)
    return summary, [str(w.message) for w in said]


def test_a_video_of_another_folder_with_a_curated_videos_id_is_curated_under_its_own(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    card1, card2 = _card(tmp_path / "card1", b"first day"), _card(tmp_path / "card2", b"second day, another video")
    out = tmp_path / "ds"
    _curate(card1, out)
    assert calls == ["GOPR0001"]

    summary, said = _curate(card2, out)
    assert calls == ["GOPR0001", "card2__GOPR0001"]  # was ["GOPR0001"]: "1 already done"
    assert (summary.ok, summary.skipped) == (1, 0)
    assert len(said) == 1 and said[0].startswith("1 video has the id of another video already in this folder: "
                                                 f"GOPR0001 ({card2 / 'GOPR0001.MP4'}, beside "
                                                 f"{card1 / 'GOPR0001.MP4'}); curated as card2__GOPR0001"), said
    sources = {r["video_id"]: r["source"] for r in read_index(out)}
    assert sources == {"GOPR0001": str(card1 / "GOPR0001.MP4"), "card2__GOPR0001": str(card2 / "GOPR0001.MP4")}

    for inputs in (card2, card1, [card1, card2]):  # each found done under its id: nothing curated again
        summary, said = _curate(inputs, out)
        assert calls == ["GOPR0001", "card2__GOPR0001"] and summary.ok == 0 and said == [], (inputs, said)
        assert summary.skipped == (2 if isinstance(inputs, list) else 1)


def test_the_same_video_moved_or_copied_is_found_done(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    card1 = _card(tmp_path / "card1", b"first day")
    out = tmp_path / "ds"
    _curate(card1, out)
    shutil.copytree(card1, tmp_path / "copy")  # the same bytes elsewhere (a faster disk)
    summary, said = _curate(tmp_path / "copy", out)
    assert calls == ["GOPR0001"] and summary.skipped == 1 and said == []
    card1.rename(tmp_path / "moved")  # the folder the index names is gone: the same video, moved
    summary, said = _curate(tmp_path / "moved", out)
    assert calls == ["GOPR0001"] and summary.skipped == 1 and said == []


def test_a_video_with_the_id_of_one_that_failed_is_curated_not_skipped_as_failed(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls, fail=True))
    card1, card2 = _card(tmp_path / "card1", b"first day"), _card(tmp_path / "card2", b"second day, another video")
    out = tmp_path / "ds"
    _curate(card1, out)
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    summary, _ = _curate(card2, out)
    assert calls == ["GOPR0001", "card2__GOPR0001"] and summary.ok == 1  # was skipped as failed before


@pytest.mark.parametrize("layout", ["sub", "frames"])
def test_the_id_taken_takes_one_folder_more_than_it_names(tmp_path, monkeypatch, layout):
    """``sub__clip`` of a searched folder ``r2`` taken by ``r1``'s: ``r2__sub__clip``; a frames folder the same."""
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    for root, content in (("r1", b"one"), ("r2", b"two, longer")):
        if layout == "sub":
            (tmp_path / root / "sub").mkdir(parents=True)
            (tmp_path / root / "sub" / "clip.mp4").write_bytes(content)
        else:
            (tmp_path / root / "clip").mkdir(parents=True)
            for i in range(3):
                (tmp_path / root / "clip" / f"{i}.png").write_bytes(content)
    out = tmp_path / "ds"
    _curate(tmp_path / "r1", out)
    _curate(tmp_path / "r2", out)
    assert calls == (["sub__clip", "r2__sub__clip"] if layout == "sub" else ["clip", "r2__clip"])


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes")
def test_telling_a_named_pipe_from_the_curated_video_opens_neither(tmp_path):
    import os
    import threading

    from genxd.curation.video_ids import _same_content

    (tmp_path / "clip.mp4").write_bytes(b"")  # a named pipe's size is 0 too
    os.mkfifo(tmp_path / "pipe.mp4")
    answer: list[bool] = []
    thread = threading.Thread(target=lambda: answer.append(_same_content(str(tmp_path / "clip.mp4"),
                                                                         str(tmp_path / "pipe.mp4"))), daemon=True)
    thread.start()
    thread.join(10)
    assert answer == [False]  # opening the pipe waited for a writer for ever
