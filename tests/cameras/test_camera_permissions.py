"""A camera file or folder (``--camera``) this user may not read: one line naming it and saying so. A COLMAP folder
of mode 000 was "[Errno 13] Permission denied: 'cams/cameras.bin'", a file it does not hold (found running as a
user who is not root, session 49). The tests that need permission bits skip as root (root reads every file);
they were run as the user genxdtest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cameras import read_camera_path
from genxd.cameras import reader as camera_reader
from genxd.cli import app

runner = CliRunner()
as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")


def _make(tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / ("cams" + ("" if fmt == "colmap" else ".json"))
    res = runner.invoke(app, ["trajectory", "make", "orbit", "--format", fmt, "--num-frames", "4", "--height", "48",
                              "--width", "64", "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def _refused(path: Path, kind: str) -> None:
    with pytest.raises(PermissionError) as caught:
        read_camera_path(path)
    assert str(caught.value) == f"{path}: the camera {kind} is not readable: no permission"


@as_root
@pytest.mark.parametrize("fmt, kind", [("colmap", "folder"), ("authors", "file")])
def test_a_camera_file_or_folder_without_permission_is_named(tmp_path, fmt, kind):
    """Run as genxdtest: the folder / file of mode 000."""
    path = _make(tmp_path, fmt)
    os.chmod(path, 0)
    try:
        _refused(path, kind)
    finally:
        os.chmod(path, 0o755)
    assert len(read_camera_path(path)) == 4


def test_a_camera_folder_without_permission_is_named_any_user(tmp_path, monkeypatch):
    """The same for any user (root reads every file): permission as os.access reports it."""
    path = _make(tmp_path, "colmap")
    real_access = os.access
    monkeypatch.setattr(camera_reader.os, "access", lambda p, mode, **kw: Path(p) != path and real_access(p, mode, **kw))
    _refused(path, "folder")
