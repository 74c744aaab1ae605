"""A retried video attempt (its worker died, the engine ran it again) writes the video once.

Engine-independent pieces, checked in-process without Ray or SfM; the Ray engine with a real
killed worker is in test_curation_ray.py.
"""

from __future__ import annotations

import json

from genxd.curation import CurationConfig, VideoSource, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation.pipeline import video_record


def _fake_done(folder, video_id: str) -> None:
    folder.mkdir(parents=True)
    meta = {"verdict": "static", "motion_strength": 0.0, "num_frames": 16, "num_registered": 16,
            "mean_reprojection_error": 0.5, "video_id": video_id}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_a_retry_of_a_video_already_renamed_into_place_reports_it_without_redoing_it(tmp_path, monkeypatch):
    source = VideoSource("clip", tmp_path / "frames", "frames")
    _fake_done(tmp_path / "out" / "clip", "clip")
    monkeypatch.setattr(dataset_module, "curate_video", lambda *a, **k: (_ for _ in ()).throw(AssertionError("redone")))
    record = dataset_module._curate_task(source, str(tmp_path / "out"), CurationConfig())
    assert record["status"] == "ok" and record["recovered"] is True and record["num_registered"] == 16
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip"]


def test_an_attempt_that_loses_the_rename_to_another_reports_the_winner(tmp_path, monkeypatch):
    source = VideoSource("clip", tmp_path / "frames", "frames")

    def other_attempt_wins(src, out_dir, config, on_stage=None, on_note=None):
        _fake_done(tmp_path / "out" / "clip", "clip")  # the other attempt renamed its folder first
        return video_record(src, "failed", stage="internal", reason="OSError: [Errno 39] Directory not empty")

    monkeypatch.setattr(dataset_module, "curate_video", other_attempt_wins)
    record = dataset_module._curate_task(source, str(tmp_path / "out"), CurationConfig())
    assert record["status"] == "ok" and record["recovered"] is True


def test_folders_of_killed_attempts_are_removed_when_the_run_ends(tmp_path, monkeypatch):
    (tmp_path / "in" / "a").mkdir(parents=True)
    (tmp_path / "in" / "a" / "0000.png").write_bytes(b"")
    out = tmp_path / "out"

    def killed_then_retried(src, out_dir, config, on_stage=None, on_note=None):
        # what a SIGKILLed attempt leaves behind: utils.io.temp_name's name, of a process on another host (Ray's)
        (out / f".{src.video_id}.otherhost-4242-dead0001.part").mkdir()
        _fake_done(out / src.video_id, src.video_id)  # the retry that finished
        return video_record(src, "ok", verdict="static", motion_strength=0.0)

    monkeypatch.setattr(dataset_module, "curate_video", killed_then_retried)
    summary = curate_dataset(tmp_path / "in", out, CurationConfig(), workers=1, progress=False)
    assert summary.ok == 1 and [r["video_id"] for r in read_index(out)] == ["a"]
    assert not list(out.glob(".*.part"))
