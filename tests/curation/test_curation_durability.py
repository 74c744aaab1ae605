"""A curated video's folder is on disk, file by file, before it is renamed into place (a power cut after the rename
must not leave a 'done' folder of truncated files)."""

from __future__ import annotations

import os

import pytest

from genxd.curation import CurationConfig, curate_video

from .conftest import write_frames

pytest.importorskip("pycolmap")


def test_every_file_and_folder_is_flushed_before_the_rename_and_the_rename_after(verdict_clips, tmp_path, monkeypatch):
    """``curate_video`` renamed the folder it built (frames, COLMAP model, meta.json) into place without an fsync:
    the file system may put the rename on disk before the files' data. Now every file and folder of it is fsynced
    before the rename, and the output folder (the rename) after it, before the index line says 'done'."""
    folder = write_frames(verdict_clips["static_b"], tmp_path / "in" / "clip")
    out = tmp_path / "out"
    synced: list[tuple[int, int]] = []  # (device, inode) of each fsync, in order
    at_rename: list[int] = []  # how many fsyncs came before the folder's rename
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        synced.append((st.st_dev, st.st_ino))
        real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        if os.fspath(dst) == os.fspath(out / "clip"):
            at_rename.append(len(synced))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    record = curate_video(folder, out, CurationConfig(focal=1.0))
    monkeypatch.undo()
    assert record["status"] == "ok", record
    assert len(at_rename) == 1
    before = set(synced[:at_rename[0]])
    written = [out / "clip", *(out / "clip").rglob("*")]
    assert {p.name for p in written} >= {"meta.json", "00000.jpg", "images", "0", "cameras.bin", "images.bin"}
    unsynced = [str(p.relative_to(out)) for p in written if (p.stat().st_dev, p.stat().st_ino) not in before]
    assert unsynced == []
    after = synced[at_rename[0]:]
    assert ((out.stat().st_dev, out.stat().st_ino)) in after  # the rename, on disk before the record is returned
