"""genxd.utils.disk_sync: which fsync errors are raised, and the order a folder's tree is flushed in."""

from __future__ import annotations

import errno
import os

import pytest

from genxd.utils.disk_sync import fsync_file, fsync_folder, fsync_tree


def _failing(code: int):
    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))
    return fsync


def test_a_file_that_cannot_be_written_to_disk_is_an_error_a_file_system_without_fsync_is_not(tmp_path, monkeypatch):
    path = tmp_path / "frame.jpg"
    path.write_bytes(b"x")
    monkeypatch.setattr(os, "fsync", _failing(errno.EIO))
    with pytest.raises(OSError) as info:
        fsync_file(path)
    assert info.value.errno == errno.EIO
    fsync_folder(tmp_path)  # a folder's flush is best effort: not every file system or platform has one
    monkeypatch.setattr(os, "fsync", _failing(errno.EINVAL))
    fsync_file(path)


def test_a_tree_is_flushed_files_first_its_folders_deepest_first_and_itself_last(tmp_path, monkeypatch):
    (tmp_path / "v" / "0").mkdir(parents=True)
    for name in ("v/meta.json", "v/0/cameras.bin"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "v" / "link").symlink_to(tmp_path / "elsewhere")  # a link to nothing: not followed, not an error
    inode_of = {os.stat(tmp_path / p).st_ino: p for p in ("v", "v/0", "v/meta.json", "v/0/cameras.bin")}
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(inode_of[os.fstat(fd).st_ino]), real_fsync(fd)))
    fsync_tree(tmp_path / "v")
    assert sorted(synced) == sorted(inode_of.values()) and synced[-1] == "v"
    assert synced.index("v/0/cameras.bin") < synced.index("v/0") and synced.index("v/meta.json") < synced.index("v")
