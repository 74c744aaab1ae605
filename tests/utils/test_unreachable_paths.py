"""An input inside a folder this user may not enter (mode 700 of another user): one line naming the folder. It was the
system's "[Errno 13] Permission denied: 'FOLDER/photo.png'" (``Path.exists`` raises it up to Python 3.13) for an
image, a camera file, an input list, and the folder alone for ``--model`` / ``genxd fewshot DATA_ROOT`` (found as the
user genxdtest, session 50). The tests with real permission bits skip as root (root enters every folder); they were
run as genxdtest. The others fake the permission where the system reports it (``os.stat``, ``os.access``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import genxd
from genxd.checkpoint_folders import resolve_checkpoint
from genxd.cli import app
from genxd.utils import paths
from genxd.utils.image_paths import collect_images
from genxd.utils.paths import reachable

EXAMPLE = Path(genxd.__file__).parents[2] / "examples" / "scene_a.png"


@pytest.fixture()
def locked(tmp_path, monkeypatch):
    """``tmp_path/locked``, a folder holding a photo, a camera file and a model folder, that the process may not
    enter: as the system says it to a user who is not root (stat of what is inside: EACCES; access X_OK: False)."""
    folder = tmp_path / "locked"
    (folder / "model").mkdir(parents=True)
    (folder / "data").mkdir()
    shutil.copy(EXAMPLE, folder / "photo.png")
    (folder / "cams.json").write_text("{}")
    (folder / "list.txt").write_text("photo.png\n")
    real_stat, real_access = os.stat, os.access

    def stat(path, *args, **kwargs):
        if folder in Path(os.fspath(path)).absolute().parents:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    def access(path, mode, **kwargs):
        return not (Path(os.fspath(path)).absolute() == folder and mode & os.X_OK) and real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "access", access)
    return folder


def test_reachable_names_the_folder_that_may_not_be_entered(locked, tmp_path):
    with pytest.raises(PermissionError) as caught:
        reachable(locked / "photo.png", "image file")
    assert str(caught.value) == f"{locked / 'photo.png'}: the image file is not readable: no permission to enter {locked}"
    assert reachable(locked, "folder") and not reachable(tmp_path / "missing" / "x.png", "image file")
    assert not reachable(EXAMPLE / "x.png", "image file")  # a file above it: not there, not a permission


def test_image_camera_model_and_lists_name_the_folder(locked):
    want = f"no permission to enter {locked}"
    with pytest.raises(PermissionError, match=f"photo.png: the image file is not readable: {want}"):
        collect_images([locked / "photo.png"])
    with pytest.raises(PermissionError, match=f"model: the model folder is not readable: {want}"):
        resolve_checkpoint(locked / "model")
    from genxd.cameras.reader import read_camera_path

    with pytest.raises(PermissionError, match=f"cams.json: the camera file or folder is not readable: {want}"):
        read_camera_path(locked / "cams.json")


@pytest.mark.parametrize("argv, what", [
    (["generate", "{locked}/photo.png"], "photo.png: the image file"),
    (["generate", str(EXAMPLE), "--camera", "{locked}/cams.json"], "cams.json: the camera file or folder"),
    (["generate", str(EXAMPLE), "--model", "{locked}/model"], "model: the model folder"),
    (["generate", "--input-list", "{locked}/list.txt"], "list.txt: the input list"),
    (["fewshot", "{locked}/data"], "data: the data folder"),
])
def test_the_command_line_says_it_in_one_line(locked, tmp_path, argv, what):
    argv = [a.format(locked=locked) for a in argv]
    result = CliRunner().invoke(app, [*argv, "-o", str(tmp_path / "out")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1, result.output
    assert lines[0].startswith("genxd: error: ") and lines[0].endswith(
        f"{what} is not readable: no permission to enter {locked}"), result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters folders without permission")
def test_a_real_folder_of_another_user(tmp_path):
    """Run as genxdtest: a folder of mode 000 in place of another user's 700."""
    folder = tmp_path / "locked"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "photo.png")
    os.chmod(folder, 0)
    try:
        with pytest.raises(PermissionError, match=f"no permission to enter {folder}$"):
            collect_images([folder / "photo.png"])
        assert paths.reachable(folder, "folder")
    finally:
        os.chmod(folder, 0o700)
