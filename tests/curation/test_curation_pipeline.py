"""End-to-end curation on synthetic videos with known cameras and object motion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.curation import (
    INDEX_NAME,
    CurationConfig,
    VideoSource,
    absolute_trajectory_error,
    curate_dataset,
    curate_video,
    read_index,
)
from genxd.curation.motion import DEFAULT_MOTION_THRESHOLD

from .conftest import render_clip, write_frames, write_mp4

pycolmap = pytest.importorskip("pycolmap")

KNOWN = CurationConfig(focal=1.0)  # the synthetic cameras' normalised focal length


def _c2w_from_model(model_dir: Path, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV c2w ``[N, 4, 4]`` and registered mask of frames ``00000.jpg ...`` in a COLMAP model."""
    rec = pycolmap.Reconstruction(str(model_dir))
    c2w = np.full((num_frames, 4, 4), np.nan)
    registered = np.zeros(num_frames, bool)
    for i in range(num_frames):
        image = rec.find_image_with_name(f"{i:05d}.jpg")
        if image is not None and image.has_pose:
            w2c = np.eye(4)
            w2c[:3] = image.cam_from_world().matrix()
            c2w[i] = np.linalg.inv(w2c)
            registered[i] = True
    return c2w, registered


@pytest.fixture(scope="session")
def verdict_run(verdict_inputs, tmp_path_factory):
    """The 10 verdict clips curated in this process, one thread (known intrinsics).

    In this process rather than with ``workers=2``: the two worker processes were two fresh interpreters importing
    torch, OpenCV and pycolmap (about 4 s of CPU) for outputs that do not depend on the process; one thread is what
    each of the 2 workers got on a 2-core machine (the cameras do not depend on it: test_sfm_repeatable.py). Local
    worker processes curating real videos are test_curation_stop.py's and test_frame_memory.py's."""
    out = tmp_path_factory.mktemp("verdict_out")
    summary = curate_dataset(verdict_inputs, out, replace(KNOWN, num_threads=1), workers=1, progress=False)
    return out, summary


@pytest.mark.slow
def test_verdicts_on_static_and_dynamic_videos(verdict_run, verdict_clips):
    out, summary = verdict_run
    assert summary.total == 10 and summary.ok == 10, [r for r in summary.records if r["status"] != "ok"]
    correct = []
    for name, clip in verdict_clips.items():
        meta = json.loads((out / name / "meta.json").read_text())
        expected = "dynamic" if clip.dynamic else "static"
        correct.append(meta["verdict"] == expected)
        assert meta["motion_threshold"] == DEFAULT_MOTION_THRESHOLD
    assert sum(correct) >= 9, {n: c for n, c in zip(verdict_clips, correct)}
    strengths = {n: json.loads((out / n / "meta.json").read_text())["motion_strength"] for n in verdict_clips}
    static = [strengths[n] for n, c in verdict_clips.items() if not c.dynamic]
    dynamic = [strengths[n] for n, c in verdict_clips.items() if c.dynamic]
    assert np.median(dynamic) > 2 * np.median(static)


def test_trajectories_match_ground_truth(verdict_run, verdict_clips):
    out, _ = verdict_run
    for name, clip in verdict_clips.items():
        if clip.dynamic:
            continue  # moving objects and shadows: covered by the verdict test
        c2w, registered = _c2w_from_model(out / name / "0", len(clip.frames))
        assert registered.sum() >= len(clip.frames) - 1
        ate = absolute_trajectory_error(c2w[registered], clip.c2w[registered])
        assert ate["relative"] < 0.02, (name, ate)


def test_written_sample_layout_and_colmap_model(verdict_run, verdict_clips):
    out, summary = verdict_run
    name = "static_a"
    sample = out / name
    for file in ("cameras.bin", "images.bin", "points3D.bin", "project.ini"):
        assert (sample / "0" / file).is_file()
    images = sorted(p.name for p in (sample / "images").glob("*.jpg"))
    assert images == [f"{i:05d}.jpg" for i in range(16)]
    meta = json.loads((sample / "meta.json").read_text())
    rec = pycolmap.Reconstruction(str(sample / "0"))
    assert rec.num_reg_images() == meta["num_registered"] and rec.num_points3D() == meta["num_points3D"] > 50
    assert meta["num_frames"] == 16 and meta["mean_reprojection_error"] < 1.5
    assert set(meta["timings"]) >= {"read", "masks", "sfm", "depth", "motion", "write", "sfm_other"}
    parts = sum(v for k, v in meta["timings"].items() if k.startswith("sfm_"))
    assert parts == pytest.approx(meta["timings"]["sfm"], abs=1e-3)  # the SfM parts add up to the stage
    camera = next(iter(rec.cameras.values()))
    assert camera.width == camera.height == 128
    try:  # the project's COLMAP reader agrees (when present)
        from genxd.cameras.formats import read_colmap_model
    except ImportError:
        pass
    else:
        model = read_colmap_model(sample / "0")
        assert len(model.image_names) == meta["num_registered"]
        assert np.allclose(np.asarray(model.K[0]), meta["K_normalized"], atol=1e-4)
    records = read_index(out)
    assert sorted(r["video_id"] for r in records) == sorted(verdict_clips)
    assert not list(out.glob(".*.part"))


def test_estimated_intrinsics_from_an_mp4(verdict_clips, tmp_path):
    clip = verdict_clips["static_a"]
    video = write_mp4(clip, tmp_path / "static_a.mp4")
    record = curate_video(VideoSource("static_a", video, "video"), tmp_path / "out", CurationConfig())
    assert record["status"] == "ok", record
    c2w, registered = _c2w_from_model(tmp_path / "out" / "static_a" / "0", 16)
    ate = absolute_trajectory_error(c2w[registered], clip.c2w[registered])
    assert registered.sum() >= 15 and ate["relative"] < 0.02, ate
    meta = json.loads((tmp_path / "out" / "static_a" / "meta.json").read_text())
    assert meta["K_normalized"][0][0] == pytest.approx(1.0, rel=0.25)  # focal is weakly constrained at 128 px
    assert meta["verdict"] == "static"


def test_motion_strength_increases_with_true_motion(tmp_path):
    from genxd.data.synthetic import make_scene

    base = make_scene(11, dynamic=True, motion_strength=1.0)
    estimated, truth = [], []
    for motion in (0.0, 0.8, 1.6):  # world units; ground-truth image motion about 0, 0.018, 0.038
        clip = render_clip(f"m{motion}", 11, "handheld", motion, scene=base.with_motion_strength(motion))
        source = VideoSource(clip.name, write_frames(clip, tmp_path / "in" / clip.name), "frames")
        record = curate_video(source, tmp_path / "out", KNOWN)
        assert record["status"] == "ok", record
        estimated.append(record["motion_strength"])
        truth.append(clip.image_motion_strength)
    assert all(a < b for a, b in zip(truth, truth[1:]))
    assert all(a < b for a, b in zip(estimated, estimated[1:])), (estimated, truth)


def test_bad_inputs_are_recorded_and_the_run_goes_on(verdict_clips, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.mp4").write_bytes(b"")
    (inputs / "junk.mp4").write_bytes(b"\x00garbage" * 100)
    short = verdict_clips["static_b"]
    write_frames(short, inputs / "too_short")
    for extra in sorted((inputs / "too_short").glob("*.png"))[4:]:
        extra.unlink()
    still = render_clip("still", 0, "static", 0.0, frames=10)  # a camera that does not move
    write_frames(still, inputs / "no_camera_motion")
    write_frames(verdict_clips["static_a"], inputs / "good")
    out = tmp_path / "out"
    summary = curate_dataset(inputs, out, KNOWN, progress=False)
    latest = {r["video_id"]: r for r in read_index(out)}
    # a camera that does not move: no parallax for SfM, so the clip gets identity poses (static_camera.py)
    assert summary.total == 5 and summary.ok == 2 and summary.failed == 3
    assert latest["good"]["status"] == "ok"
    assert (latest["empty"]["stage"], latest["junk"]["stage"]) == ("read", "read")
    assert latest["too_short"]["stage"] == "frames" and "too few frames" in latest["too_short"]["reason"]
    assert latest["no_camera_motion"]["status"] == "ok"
    meta = json.loads((out / "no_camera_motion" / "meta.json").read_text())
    assert meta["sfm_mapper"] == "static_camera" and meta["verdict"] == "static"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good", INDEX_NAME, "no_camera_motion"]
    # A second run skips everything (finished or failed); --retry-failed tries the failures again.
    again = curate_dataset(inputs, out, KNOWN, progress=False)
    assert again.skipped == 5 and again.ok == again.failed == 0 and len(read_index(out)) == 5
    retry = curate_dataset([inputs / "empty.mp4"], out, KNOWN, retry_failed=True, progress=False)
    assert retry.failed == 1 and len(read_index(out)) == 6


def test_a_full_disk_is_recorded_as_the_machines_failure_and_tried_again(verdict_clips, tmp_path, monkeypatch):
    """A video that failed because the disk was full says nothing about the video: its record's stage is
    ``environment`` (no traceback), and the next run tries it again without --retry-failed (it was skipped)."""
    import errno

    import genxd.curation.pipeline as pipeline

    inputs = tmp_path / "in"
    write_frames(verdict_clips["static_a"], inputs / "good")
    out = tmp_path / "out"
    real = pipeline._curate_into

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline, "_curate_into", full)
    first = curate_dataset(inputs, out, KNOWN, progress=False)
    record = read_index(out)[-1]
    assert first.failed == 1 and record["stage"] == "environment" and "traceback" not in record
    assert not (out / "good").exists()
    monkeypatch.setattr(pipeline, "_curate_into", real)
    second = curate_dataset(inputs, out, KNOWN, progress=False)
    assert second.ok == 1 and second.skipped == 0 and (out / "good" / "meta.json").exists()


_CHILD = """
import sys
from genxd.curation import CurationConfig, curate_dataset
curate_dataset(sys.argv[1], sys.argv[2], CurationConfig(focal=1.0, num_threads=1), workers=1, progress=False)
"""


@pytest.mark.slow
def test_killed_run_resumes_and_finishes_every_video_once(verdict_clips, tmp_path):
    inputs = tmp_path / "in"
    for name in ("static_a", "static_b", "dynamic_a"):
        write_frames(verdict_clips[name], inputs / name)
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(inputs), str(out)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if len(read_index(out)) >= 1:
                break
            time.sleep(0.05)
        assert child.poll() is None, "the run finished before it could be killed"
        assert len(read_index(out)) >= 1
        time.sleep(0.5)  # let it get into the next video
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    done_before = {r["video_id"] for r in read_index(out)}
    assert len(done_before) < 3
    for folder in out.iterdir():  # no half-written video folder under a final name
        if folder.is_dir() and not folder.name.startswith("."):
            assert (folder / "meta.json").is_file(), folder
    summary = curate_dataset(inputs, out, KNOWN, progress=False)
    assert summary.ok == 3 - len(done_before) and summary.skipped == len(done_before)
    records = read_index(out)
    ok_ids = [r["video_id"] for r in records if r["status"] == "ok"]
    assert sorted(ok_ids) == ["dynamic_a", "static_a", "static_b"]  # each exactly once
    assert not list(out.glob(".*.part"))
    for name in ok_ids:
        assert (out / name / "meta.json").is_file()


def test_cli_curate(verdict_clips, tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    write_frames(verdict_clips["static_c"], tmp_path / "in" / "clip")
    runner = CliRunner()
    result = runner.invoke(app, ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--focal", "1.0",
                                 "--quiet", "--max-frames", "14"])
    assert result.exit_code == 0, result.output
    assert "1 ok, 0 failed" in result.output
    meta = json.loads((tmp_path / "out" / "clip" / "meta.json").read_text())
    assert meta["num_frames"] == 14
    # with the progress bar on, the bar goes to stderr: stdout holds the results only
    loud = runner.invoke(app, ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "out_loud"), "--focal", "1.0",
                               "--max-frames", "14"])
    assert loud.exit_code == 0, loud.output
    assert "1 ok, 0 failed" in loud.stdout and "curate" in loud.stderr and "\u2501" not in loud.stdout, loud.stdout
    result = runner.invoke(app, ["curate", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "input not found" in result.output
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # with Ray installed, see test_curation_ray.py
        result = runner.invoke(app, ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "o2"), "--ray", "auto"])
        assert result.exit_code == 2 and "needs the 'ray' package" in result.output


def test_stages_are_reported_as_they_start_and_shown_in_the_progress_bar(verdict_clips, tmp_path, monkeypatch):
    import contextlib

    from genxd.curation import dataset

    folder = write_frames(verdict_clips["static_b"], tmp_path / "in" / "clip")
    stages: list[str] = []
    (tmp_path / "empty.mp4").write_bytes(b"")
    failed = curate_video(VideoSource("empty", tmp_path / "empty.mp4", "video"), tmp_path / "out", KNOWN,
                          on_stage=stages.append)
    assert failed["stage"] == "read" and stages == ["frames"]

    class Bar:  # records what the bar is told (a bar redraws a log file only every few seconds)
        statuses: list[str] = []

        def set_postfix_str(self, status, refresh=True):
            self.statuses.append(status)

        def update(self, n=1):
            pass

    monkeypatch.setattr(dataset, "_make_progress", lambda enabled, total: contextlib.nullcontext(Bar()))
    # curate_video's stages, each as it starts, as the bar is told them (the video is curated once: through
    # curate_dataset, which passes curate_video's on_stage to the bar; it was also curated alone before, for its stages)
    summary = curate_dataset([folder], tmp_path / "out2", KNOWN, progress=True)
    assert summary.ok == 1 and Bar.statuses == [f"ok 0  failed 0  clip: {stage}" for stage in
                                                ("frames", "masks", "sfm", "depth", "motion", "write")] + [
        "ok 1  failed 0"], Bar.statuses


def test_curate_video_puts_the_callers_thread_counts_back(tmp_path):
    """num_threads set torch's and OpenCV's thread counts for the video and left them so in the caller's process
    (a notebook's torch ran on 1 thread after curate_video(..., CurationConfig(num_threads=1)))."""
    import cv2

    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(3)
    cv2.setNumThreads(3)
    seen = []
    try:
        (tmp_path / "empty.mp4").write_bytes(b"")  # fails at once, after the counts were set
        record = curate_video(VideoSource("empty", tmp_path / "empty.mp4", "video"), tmp_path / "out",
                              CurationConfig(num_threads=1),
                              on_stage=lambda stage: seen.append((torch.get_num_threads(), cv2.getNumThreads())))
        assert record["status"] == "failed" and seen == [(1, 1)]
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (3, 3)
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


def _no_read_permission_run(tmp_path, make_unreadable, make_readable):
    """A run over one video this user may not read, then one after it was made readable: the records."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    video = inputs / "a.mp4"
    video.write_text("not a video")  # made readable, it fails at reading: the retry is seen
    out = tmp_path / "out"
    make_unreadable(video)
    try:
        first = curate_dataset(inputs, out, KNOWN, progress=False)
    finally:
        make_readable(video)
    second = curate_dataset(inputs, out, KNOWN, progress=False)
    return first, second, read_index(out)


def _check_retried(first, second, records):
    assert first.failed == 1 and records[0]["stage"] == "environment" and "traceback" not in records[0], records
    assert "a.mp4: cannot open as a video (Permission denied)" in records[0]["reason"], records
    assert second.skipped == 0 and second.failed == 1 and records[1]["stage"] == "read", records


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_a_video_without_read_permission_is_the_machines_failure_and_tried_again(tmp_path):
    """A video this user may not read (mode 000) failed at stage ``read``, the video's fault, and every later run
    skipped it as failed ('3 already done') after the permission was fixed, unless --retry-failed; a frame folder's
    unreadable frame was already ``environment``. Now ``environment``: the next run tries it. Run as the user
    genxdtest (session 49)."""
    _check_retried(*_no_read_permission_run(tmp_path, lambda p: os.chmod(p, 0), lambda p: os.chmod(p, 0o644)))


def test_a_video_without_read_permission_is_tried_again_any_user(tmp_path, monkeypatch):
    """The same for any user (root reads every file): PyAV's open fails with EACCES, as it does for genxdtest."""
    import errno

    import av

    real_open, denied = av.open, set()

    def open_(path, *args, **kwargs):
        if str(path) in denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(av, "open", open_)
    _check_retried(*_no_read_permission_run(tmp_path, lambda p: denied.add(str(p)), lambda p: denied.clear()))
