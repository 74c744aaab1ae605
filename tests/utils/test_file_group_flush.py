"""What a group's replacement (``genxd.utils.file_groups.atomic_group``) flushes to disk before its renames: every file
and folder of each new member, subfolders included (their entries were not flushed: after a power cut a member
folder renamed into place could lack a subfolder's files), and of the folder the group is written into only its
entries (every file below it was flushed for each group: a user's whole folder for ``trajectory from-video -o
~/path.json``, every earlier clip of a ``synth --format video`` run for each clip)."""

from __future__ import annotations

import os
from pathlib import Path

from genxd.utils.file_groups import atomic_group


def _flushed(monkeypatch) -> list[int]:
    """The inodes ``os.fsync`` is called on from now on (the calls still made)."""
    inodes: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (inodes.append(os.fstat(fd).st_ino), real_fsync(fd)))
    return inodes


def _inodes(root: Path) -> dict[int, str]:
    return {os.stat(p).st_ino: p.relative_to(root).as_posix() for p in [root, *root.rglob("*")]}


def test_a_member_folder_is_flushed_whole_and_the_folder_around_it_by_its_entries(tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "user" / "deep").mkdir(parents=True)  # the user's own files beside the group: not the group's to flush
    for name in ("notes.txt", "user/a.bin", "user/deep/b.bin"):
        (out / name).write_bytes(b"mine")
    flushed = _flushed(monkeypatch)
    with atomic_group([out / "metrics.json", out / "renders"], folders=[out / "renders"]) as (metrics, renders):
        metrics.write_text("{}")
        (renders / "views" / "left").mkdir(parents=True)
        (renders / "views" / "left" / "0.png").write_bytes(b"png")
        (renders / "1.png").write_bytes(b"png")
    names = _inodes(out)
    synced = [names.get(inode, "?") for inode in flushed]
    group = {"metrics.json", "renders", "renders/views", "renders/views/left", "renders/views/left/0.png",
             "renders/1.png"}
    assert group <= set(synced), synced  # was: renders/views and renders/views/left not flushed
    assert not {"notes.txt", "user", "user/a.bin", "user/deep", "user/deep/b.bin"} & set(synced), synced  # were
    assert "." in synced  # the folder's entries: the journals' names, then the renames
    assert synced.index("renders/views/left/0.png") < synced.index("renders/views/left") < synced.index("renders")
