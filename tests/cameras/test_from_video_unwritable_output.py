"""``genxd trajectory from-video`` checks that the output's folder can be written before any work: a folder that is
not writable, or a "folder" that is a file, was found only when the path was written, after the clip's SfM (a
minute on a real clip), and said with the name of a temporary file: ``[Errno 13] Permission denied:
'/sys/.x.json.vm-26591-7322613d.part.json'``."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cameras import from_video, save_camera_json, trajectories
from genxd.cli import app


@pytest.fixture
def clip(tmp_path: Path, monkeypatch) -> Path:
    """A camera file to make the path of; reading it counts as the work (it fails the test)."""
    c2w, K = trajectories.orbit(num_frames=10)
    path = tmp_path / "cams.json"
    save_camera_json(path, c2w, K, 64, 64)

    @functools.wraps(from_video.recover_clip_cameras)  # its signature: the settings are sorted by it
    def no_work(*args, **kwargs):
        raise AssertionError("the clip was read before the output's folder was checked")

    monkeypatch.setattr(from_video, "recover_clip_cameras", no_work)
    return path


def _error(clip: Path, out: Path) -> str:
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(out), "-n", "4"])
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert res.exit_code == 2 and len(errors) == 1 and "Traceback" not in res.output, res.output
    return errors[0]


def test_an_output_under_a_file_is_refused_before_any_work(tmp_path: Path, clip: Path):
    (tmp_path / "frame.png").write_bytes(b"a file, not a folder")
    error = _error(clip, tmp_path / "frame.png" / "path.json")
    assert f"its folder {tmp_path / 'frame.png'} exists and is not a folder" in error, error
    with pytest.raises(NotADirectoryError):
        from_video.write_video_path(clip, tmp_path / "frame.png" / "path.json", 4)


def test_an_output_folder_that_is_not_writable_is_refused_before_any_work(tmp_path: Path, clip: Path, monkeypatch):
    """Permission as os.access reports it (root may write anywhere)."""
    (tmp_path / "ro").mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if Path(p) == tmp_path / "ro" and mode & os.W_OK
                        else access(p, mode, *a, **k))
    error = _error(clip, tmp_path / "ro" / "sub" / "path.json")
    assert "is not writable" in error and f"({tmp_path / 'ro'} is not)" in error, error
    assert list((tmp_path / "ro").iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_takes_no_new_file_is_refused_before_any_work(clip: Path, monkeypatch):
    """``-o /proc/x.json``: os.access says /proc is writable for root (and here for anyone), but no file can be made
    there: it got past the check and failed after the SfM, naming a temporary file."""
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: True if Path(p) == Path("/proc")
                        else access(p, mode, *a, **k))
    error = _error(clip, Path("/proc/genxd_x.json"))
    assert "its folder /proc is not writable: no new file can be made there" in error, error
    assert ".part" not in error and ".genxd-probe" not in error, error
