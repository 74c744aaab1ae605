"""A video's warnings (``decoded 16 of the 24 frames NAME states; the file may be cut short``) are kept in its
index record and ``meta.json`` and shown once by the process that runs the command, naming the video, whatever
the engine (found by the curation-at-scale audit: under ``--ray`` they were lost, from ``--workers`` processes
they came in Python's format, and no file kept them).

In-process, with a stand-in for the stages (no SfM): a worker process and a Ray task run the same
``_curate_task`` and send back its record."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from genxd.curation import CurationConfig, VideoSource, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.curation import pipeline as pipeline_module
from genxd.curation.pipeline import CurationError
from genxd.validation import GenXDWarning, warn

CUT = "decoded 16 of the 24 frames a.mp4 states; the file may be cut short"


def _stages(source, folder, config, masker, on_stage, note_now):
    """Stand-in for ``_curate_into``: warns; video ``bad`` then fails, the others are written."""
    warn(CUT)
    if source.video_id == "bad":
        raise CurationError("frames", "too few frames: 4 < min_frames=8")
    meta = {"verdict": "static", "motion_strength": 0.0, "num_frames": 16, "num_registered": 16,
            "mean_reprojection_error": 0.5, "config": config.to_dict()}
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def _inputs(root: Path) -> Path:
    for name in ("good", "bad"):
        (root / "in" / name).mkdir(parents=True)
        (root / "in" / name / "0000.png").write_bytes(b"")
    return root / "in"


def test_a_videos_warnings_are_kept_in_its_record_and_meta_and_shown_once_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline_module, "_curate_into", _stages)
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curate_dataset(_inputs(tmp_path), out, CurationConfig(), progress=False)
    shown = sorted(str(w.message) for w in caught if issubclass(w.category, GenXDWarning))
    assert shown == [f"bad: {CUT}", f"good: {CUT}"]
    records = {r["video_id"]: r for r in read_index(out)}
    assert records["good"]["warnings"] == [CUT] and records["bad"]["warnings"] == [CUT]
    assert records["bad"]["status"] == "failed"
    assert json.loads((out / "good" / "meta.json").read_text())["warnings"] == [CUT]


def test_a_worker_sends_its_warnings_in_the_record_without_printing_them(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline_module, "_curate_into", _stages)
    (tmp_path / "good").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = dataset_module._curate_task(VideoSource("good", tmp_path / "good", "frames"), str(tmp_path / "out"),
                                             CurationConfig())
    assert record["warnings"] == [CUT]
    assert not [w for w in caught if issubclass(w.category, GenXDWarning)]


def test_curate_video_alone_still_warns(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline_module, "_curate_into", _stages)
    (tmp_path / "good").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipeline_module.curate_video(VideoSource("good", tmp_path / "good", "frames"), tmp_path / "out")
    assert [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)] == [CUT]


def _long_clip(root: Path, monkeypatch, events: list) -> Path:
    """A 6-frame folder that stands for a long video (``LONG_VIDEO_FRAMES`` 5); its SfM stage notes that it
    started, then fails at once."""
    import numpy as np
    import PIL.Image

    from genxd.curation.sfm import SfmError

    monkeypatch.setattr(pipeline_module, "LONG_VIDEO_FRAMES", 5)

    def sfm_starts(*args, **kwargs):
        events.append("sfm")
        raise SfmError("stand-in: no SfM here")

    monkeypatch.setattr(pipeline_module, "is_static_camera", sfm_starts)
    clip = root / "in" / "clip"
    clip.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        PIL.Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(clip / f"{i:04d}.png")
    return root / "in"


def test_a_long_videos_warning_comes_before_its_sfm_once_and_is_kept(tmp_path, monkeypatch):
    """``NAME is long: N frames go to SfM`` was shown with the video's record, once its minutes of SfM were done;
    it now reaches ``on_note`` before SfM starts, is not shown again at the end, and the record keeps it."""
    events: list = []
    inputs = _long_clip(tmp_path, monkeypatch, events)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curate_dataset(inputs, tmp_path / "out", CurationConfig(min_frames=3, num_threads=1), progress=False,
                       on_note=lambda video_id, note: events.append((video_id, note)))
    assert len(events) == 2 and events[1] == "sfm", events
    video_id, note = events[0]
    assert video_id == "clip" and note.startswith("clip is long: 6 frames go to SfM"), events
    assert not [w for w in caught if "is long" in str(w.message)]  # shown once: on_note's
    (record,) = read_index(tmp_path / "out")
    assert record["warnings"] == [note] and record["stage"] == "sfm"


def test_the_command_line_shows_a_long_videos_warning_before_its_sfm(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from genxd.cli import app
    from genxd.curation.sfm import SfmError

    events: list = []
    inputs = _long_clip(tmp_path, monkeypatch, events)
    def sfm_starts(*args, **kwargs):
        print("SFM STARTS", file=sys.stderr)
        raise SfmError("stand-in: no SfM here")

    monkeypatch.setattr(pipeline_module, "is_static_camera", sfm_starts)
    res = CliRunner().invoke(app, ["curate", str(inputs), "--out", str(tmp_path / "out"), "--min-frames", "3",
                                   "--threads", "1"])
    lines = res.output.splitlines()
    long = [k for k, line in enumerate(lines) if "is long: 6 frames go to SfM" in line]
    assert len(long) == 1 and long[0] < lines.index("SFM STARTS"), res.output
    assert lines[long[0]].startswith("genxd: warning: clip: clip is long: 6 frames go to SfM"), res.output
    assert "--max-frames / --stride" in lines[long[0]], res.output
