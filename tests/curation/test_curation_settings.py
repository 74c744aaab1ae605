"""A rerun on a curated folder with other settings says that the videos it skips were curated with the earlier
ones (found by the curation-at-scale audit: ``genxd curate videos --out camvid --focal 1 --motion-threshold 0.02``
on a folder curated with the defaults reported "26 already done" and kept every result without a word).

In-process with a stand-in for ``curate_video`` (no SfM)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation.pipeline import video_record
from genxd.validation import GenXDWarning


def _stand_in(calls: list[str]):
    """``curate_video``: video ``bad`` fails (too few frames), the others are done with a meta.json."""

    def curate_video(source, out_dir, config, on_stage=None, on_note=None):
        calls.append(source.video_id)
        if source.video_id == "bad":
            return video_record(source, "failed", stage="frames", reason="too few frames: 4 < min_frames=8")
        folder = Path(out_dir) / source.video_id
        folder.mkdir(parents=True)
        meta = {"verdict": "static", "motion_strength": 0.0, "num_frames": 8, "num_registered": 8,
                "mean_reprojection_error": 0.5, "config": config.to_dict()}
        (folder / "meta.json").write_text(json.dumps(meta))
        return video_record(source, "ok", verdict="static", motion_strength=0.0)

    return curate_video


@pytest.fixture
def inputs(tmp_path):
    for name in ("good", "bad"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "0000.png").write_bytes(b"")
    return tmp_path / "in"


def test_a_rerun_with_other_settings_warns_about_the_videos_it_keeps(inputs, tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    out = tmp_path / "out"
    curate_dataset(inputs, out, CurationConfig(), progress=False)
    assert sorted(calls) == ["bad", "good"]
    assert all(r["settings"]["focal"] is None for r in read_index(out))

    with pytest.warns(GenXDWarning, match=r"2 videos .* other settings(?=.*focal=1.0 \(was none\))(?=.*min_frames=3 \(was 8\)).*retry_failed=True"):
        summary = curate_dataset(inputs, out, CurationConfig(focal=1.0, min_frames=3), progress=False)
    assert summary.skipped == 2 and sorted(summary.other_settings) == ["bad", "good"]
    assert summary.other_settings["good"] == {"min_frames": 8, "focal": None}
    assert sorted(calls) == ["bad", "good"]  # kept, not redone


def test_the_same_settings_on_other_threads_or_a_folder_from_before_records_carried_settings(inputs, tmp_path,
                                                                                                monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls))
    out = tmp_path / "out"
    curate_dataset(inputs, out, CurationConfig(), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        summary = curate_dataset(inputs, out, CurationConfig(num_threads=1, verbose=True), progress=False)
    assert summary.other_settings == {}

    # an index written before records carried their settings: the done video's meta.json says
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    (out / "index.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "settings"}) + "\n"
                                             for r in lines))
    with pytest.warns(GenXDWarning, match=r"1 videos .*stride=2 \(was 1\) \(good\)"):
        summary = curate_dataset(inputs, out, CurationConfig(stride=2), progress=False)
    assert list(summary.other_settings) == ["good"]


def test_a_rerun_of_many_videos_with_other_settings_keeps_counts_not_one_entry_per_video(tmp_path, monkeypatch):
    """Found by the local-pool audit: ``other_settings`` held one dict per kept video (a 20,000-video folder rerun
    with another --focal: 20,000), though only their number and a few ids are reported."""
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in([]))
    for i in range(12):
        (tmp_path / "in" / f"clip{i:02d}").mkdir(parents=True)
        (tmp_path / "in" / f"clip{i:02d}" / "0000.png").write_bytes(b"")
    out = tmp_path / "out"
    curate_dataset(tmp_path / "in", out, CurationConfig(), progress=False)
    with pytest.warns(GenXDWarning, match=r"12 videos .*focal=2.0 \(was none\) \(clip00, clip01, clip02, clip03, "
                                          r"clip04 and 7 more\)"):
        summary = curate_dataset(tmp_path / "in", out, CurationConfig(focal=2.0), progress=False)
    assert summary.to_dict()["other_settings"] == 12 and summary.skipped == 12
    assert list(summary.other_settings) == [f"clip{i:02d}" for i in range(5)]  # was all 12


def test_a_resize_of_width_and_height_is_named_as_the_caller_writes_it(inputs, tmp_path, monkeypatch):
    """``--resize 512x256`` was named ``--resize [512, 256] (was none)``, JSON's list: a value --resize refuses."""
    from genxd.validation import caller_style

    monkeypatch.setattr(dataset_module, "curate_video", _stand_in([]))
    out = tmp_path / "out"
    curate_dataset(inputs, out, CurationConfig(resize=(512, 256)), progress=False)
    with caller_style("cli"), pytest.warns(GenXDWarning, match=r"--resize 320x240 \(was 512x256\)"):
        curate_dataset(inputs, out, CurationConfig(resize=(320, 240)), progress=False)
    with pytest.warns(GenXDWarning, match=r"resize=512 \(was \(512, 256\)\)"):
        curate_dataset(inputs, out, CurationConfig(resize=512), progress=False)


def test_a_raised_frame_memory_limit_is_not_other_settings_for_done_videos(inputs, tmp_path, monkeypatch):
    """A video failing for its frames' memory is told to raise ``--max-frame-memory``; the rerun that did (with
    ``--retry-failed``) warned that every done video was curated with other settings and should be redone, though a
    done video's result is the same under any limit it was within. A failed video kept is still named."""
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in([]))
    out = tmp_path / "out"
    curate_dataset(inputs, out, CurationConfig(), progress=False)
    with pytest.warns(GenXDWarning, match=r"^1 videos .*: max_frame_memory_gib=4.0 \(was 1.0\) \(bad\)"):
        summary = curate_dataset(inputs, out, CurationConfig(max_frame_memory_gib=4.0), progress=False)
    assert list(summary.other_settings) == ["bad"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        summary = curate_dataset(inputs, out, CurationConfig(max_frame_memory_gib=None), progress=False,
                                 retry_failed=True)
    assert summary.other_settings == {}
