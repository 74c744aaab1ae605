"""What ``genxd curate`` tells the user (issue 19 item 7): one line per video, a non-zero exit when every
video failed, COLMAP's own log lines only with ``--verbose``, distinct ids for same-named folders, the
registered-frame count reported and a minimum enforced."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genxd.curation import CurationConfig, VideoSource, curate_video
from genxd.curation.dataset import _collect_sources

from .conftest import write_frames

pytest.importorskip("pycolmap")

GLOG_LINE = re.compile(r"^[IWEF]\d{8} ", re.M)  # e.g. "E20261130 16:29:13.107659 1399... sfm.cc:310] ..."


def _still_frames(folder: Path, count: int = 8) -> Path:
    """Unrelated noise frames: nothing to track, SfM fails quickly (identical frames would now be curated
    as a still camera with identity poses, genxd.curation.static_camera)."""
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        image = np.random.default_rng(i).uniform(0, 255, (64, 64, 3)).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return folder


def _curate(*args, cwd):
    """``genxd curate ARGS`` in a child process run in ``cwd``: for what only a process shows (COLMAP's own log lines
    are written to file descriptor 2 by its C++ code, which the command hides unless ``--verbose``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "genxd", "curate", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _curate_here(*args, cwd) -> subprocess.CompletedProcess:
    """``genxd curate ARGS`` run in ``cwd`` in this process (typer's runner, through genxd's own entry point, which
    prints the ``genxd: error:`` lines and sets the exit code): the result as :func:`_curate` gives it. A child
    process is a fresh interpreter importing genxd, about 5 s of CPU, for what these tests do not need a process
    for; an exception escaping genxd's entry point fails the test (``catch_exceptions=False``)."""
    from typer.testing import CliRunner

    from genxd.cli import app

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        result = CliRunner().invoke(app, ["curate", *map(str, args)], catch_exceptions=False)
    return subprocess.CompletedProcess(["genxd", "curate", *map(str, args)], result.exit_code, result.stdout,
                                       result.stderr)


def test_all_failed_exits_1_with_one_line_per_video_and_no_colmap_lines(tmp_path):
    _still_frames(tmp_path / "a" / "frames")
    _still_frames(tmp_path / "b" / "frames")  # same folder name: used to be refused as a duplicate id
    res = _curate("a/frames", "b/frames", "--out", "out", "-q", cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert not GLOG_LINE.search(res.stderr), res.stderr  # no "E2026... sfm.cc:310] ..." lines
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3, res.stderr
    assert lines[0].startswith("a__frames: failed (sfm): ") and lines[1].startswith("b__frames: failed (sfm): ")
    assert "SfM" in lines[0] and "SfM" in lines[1]
    assert lines[2] == "genxd: error: all 2 videos failed: a__frames, b__frames"
    assert "0 ok, 2 failed" in res.stdout
    records = [json.loads(line) for line in (tmp_path / "out" / "index.jsonl").read_text().splitlines()]
    assert sorted(r["video_id"] for r in records) == ["a__frames", "b__frames"]

    loud = _curate("a/frames", "--out", "out_verbose", "-q", "--verbose", cwd=tmp_path)
    assert loud.returncode == 1 and GLOG_LINE.search(loud.stderr), loud.stderr[-2000:]


def test_same_named_folders_get_distinct_stable_ids(tmp_path):
    for parent in ("x/a", "y/a", "b"):
        _still_frames(tmp_path / parent / "frames", count=3)
    sources = _collect_sources([tmp_path / "x/a/frames", tmp_path / "y/a/frames", tmp_path / "b/frames",
                                tmp_path / "b/frames"])  # the same path twice counts once
    assert [s.video_id for s in sources] == ["x__a__frames", "y__a__frames", "b__frames"]
    again = _collect_sources([tmp_path / "x/a/frames", tmp_path / "y/a/frames", tmp_path / "b/frames"])
    assert [s.video_id for s in again] == [s.video_id for s in sources]
    alone = _collect_sources([tmp_path / "b/frames"])
    assert [s.video_id for s in alone] == ["frames"]


def test_registered_frames_are_reported_and_a_minimum_is_enforced(verdict_clips, tmp_path):
    """A clip whose last 5 of 16 frames are noise: SfM registers 11. The default minimum (0.75, 12 frames)
    fails it with the count in the reason; a lower minimum keeps it, and the count is in the record and
    in the CLI's line for the video."""
    clip = verdict_clips["static_a"]
    frames = clip.frames.copy()
    rng = np.random.default_rng(5)
    frames[11:] = rng.uniform(0, 255, frames[11:].shape).astype(np.uint8)
    from dataclasses import replace

    noisy = replace(clip, frames=frames)
    folder = write_frames(noisy, tmp_path / "in" / "noisy")
    source = VideoSource("noisy", folder, "frames")
    failed = curate_video(source, tmp_path / "strict", CurationConfig(focal=1.0))
    assert failed["status"] == "failed" and failed["stage"] == "sfm", failed
    assert re.search(r"registered only 1[01] of 16 frames, fewer than the minimum 12", failed["reason"]), failed
    res = _curate_here(folder, "--out", tmp_path / "loose", "-q", "--focal", "1", "--min-registered", "0.6",
                       cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    record = json.loads((tmp_path / "loose" / "index.jsonl").read_text().splitlines()[-1])
    assert record["status"] == "ok" and record["num_frames"] == 16 and record["num_registered"] in (10, 11)
    assert f"noisy: " in res.stdout and f"{record['num_registered']} of 16 frames registered" in res.stdout


def test_min_registered_is_checked():
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="min_registered"):
            CurationConfig(min_registered=bad)


@pytest.fixture(scope="module")
def unreadable_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``genxd curate in --out out`` on a folder holding one file that is not a video: the folder and the run.

    Checked by two tests (run in this process: :func:`_curate_here`); only the rerun test changes the folder, and
    only after the first run, whose result is what both check."""
    root = tmp_path_factory.mktemp("unreadable")
    (root / "in").mkdir()
    (root / "in" / "a.mp4").write_text("not a video")
    return root, _curate_here("in", "--out", "out", "-q", cwd=root)


def test_only_unreadable_videos_exit_2_as_bad_inputs(unreadable_run):
    _, res = unreadable_run
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("a: failed (read): ") and lines[-1] == "genxd: error: all 1 videos failed: a"
    assert "Traceback" not in res.stderr


def test_a_rerun_whose_new_videos_all_fail_is_no_success(unreadable_run):
    """Videos done (or failed) by an earlier run are skipped; a rerun whose every new video failed exited 0 because
    something was skipped (found by the curation-at-scale audit)."""
    tmp_path, first = unreadable_run
    assert first.returncode == 2, first.stdout + first.stderr
    (tmp_path / "in" / "b.mp4").write_text("not a video either")
    again = _curate_here("in", "--out", "out", "-q", cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr  # b failed at reading: the input's fault
    assert again.stderr.strip().splitlines()[-1] == "genxd: error: all 1 videos of this run failed: b"
    # a.mp4 failed before: skipped, and not counted as done (it read "1 already done")
    assert "0 ok, 1 failed, 0 already done, 1 failed before (skipped; --retry-failed redoes it)" in again.stdout


def test_the_index_names_a_relative_input_by_its_absolute_path_as_under_ray(tmp_path, monkeypatch):
    """A relative input was recorded as given by the local engine and as an absolute path under ``--ray`` (whose
    tasks get absolute paths): the same inputs gave different index lines and ``meta.json`` files. Both engines now
    record the absolute path, which also names the file whatever folder a later reader starts in."""
    from genxd.curation import curate_dataset, read_index

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.mp4").write_bytes(b"")  # fails at once, at stage read
    monkeypatch.chdir(tmp_path)
    summary = curate_dataset(Path("in"), Path("out"), CurationConfig(), progress=False)
    (record,) = read_index(tmp_path / "out")
    assert summary.failed == 1 and record["stage"] == "read"
    assert record["source"] == str(tmp_path / "in" / "empty.mp4")  # was "in/empty.mp4"
