"""A rerun's counts say what the folder holds: videos that failed before and are skipped are counted as such, not as
"already done" (``genxd curate`` on a folder whose 2 videos had failed printed "0 ok, 0 failed, 2 already done" and
exited 0, though neither was in the dataset). In-process with a stand-in for ``curate_video``."""

from __future__ import annotations

import json
from pathlib import Path

from genxd.curation import dataset as dataset_module
from genxd.curation.pipeline import video_record


def _stand_in(calls: list[str], failing: set[str]):
    def curate_video(source, out_dir, config, on_stage=None, on_note=None):
        calls.append(source.video_id)
        if source.video_id in failing:
            return video_record(source, "failed", stage="sfm", reason="too little camera motion")
        folder = Path(out_dir) / source.video_id
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"source": str(source.path), "verdict": "static",
                                                      "motion_strength": 0.0, "config": config.to_dict()}))
        return video_record(source, "ok", verdict="static", motion_strength=0.0, num_frames=8, num_registered=8)

    return curate_video


def _curate(*args: str):
    from typer.testing import CliRunner

    from genxd.cli import app

    return CliRunner().invoke(app, ["curate", *args, "-q"], catch_exceptions=False)


def test_videos_that_failed_before_are_not_counted_as_already_done(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls, {"b", "c"}))
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "in" / f"{name}.mp4").write_bytes(name.encode())
    first = _curate(str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert "1 ok, 2 failed, 0 already done" in first.stdout, first.stdout
    again = _curate(str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert calls == ["a", "b", "c"] and again.exit_code == 0
    # was "0 ok, 0 failed, 3 already done"
    assert "3 videos into" in again.stdout and "0 ok, 0 failed, 1 already done, 2 failed before (skipped; " \
        "--retry-failed redoes them)" in again.stdout, again.stdout

    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls, set()))
    retried = _curate(str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--retry-failed")
    assert calls[3:] == ["b", "c"] and "2 ok, 0 failed, 1 already done (index" in retried.stdout, retried.stdout


def test_the_summary_counts_the_failed_before_among_the_skipped(tmp_path, monkeypatch):
    from genxd.curation import CurationConfig, curate_dataset

    calls: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(calls, {"b"}))
    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        (tmp_path / "in" / f"{name}.mp4").write_bytes(name.encode())
    curate_dataset(tmp_path / "in", tmp_path / "out", CurationConfig(), progress=False)
    summary = curate_dataset(tmp_path / "in", tmp_path / "out", CurationConfig(), progress=False)
    assert (summary.skipped, summary.failed_before) == (2, 1)
    assert summary.to_dict()["failed_before"] == 1
