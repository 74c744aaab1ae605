"""A data root that is no folder of scenes: a loop of symbolic links (``cv -> cv``) stopped ``CamVidDataset`` with
pathlib's ``RuntimeError: Symlink loop from 'cv'`` and its traceback; it is one line naming the root and the loop, as
``genxd eval-camera`` says it (``genxd.utils.paths.loop_note``). ``MultiViewDataset`` said "no such folder" of such a
loop, and of a file that is there (a scene's ``transforms.json`` given as the root): a file is said to be one, naming
its folder where that is a scene."""

from __future__ import annotations

import os
import re

import pytest

from genxd.data.datasets import CamVidDataset, MultiViewDataset, ReconFusionDataset
from genxd.data.synthetic import make_clip, write_clip


def test_a_camvid_root_that_is_a_loop_of_links_is_named(tmp_path):
    loop = tmp_path / "cv"
    os.symlink(loop, loop)
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(loop))}: no such file or folder "
                                                r"\(a loop of symbolic links: cv -> .*cv\)$"):
        CamVidDataset(loop, num_frames=4, height=16)


def test_a_multiview_root_that_is_a_loop_of_links_is_named(tmp_path):
    loop = tmp_path / "scenes"
    os.symlink(loop, loop)
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(loop))}: no such folder "
                                                r"\(a loop of symbolic links: scenes -> .*scenes\)$"):
        MultiViewDataset(loop, num_frames=4, height=16)


def test_a_multiview_root_that_is_a_file_is_said_to_be_one(tmp_path):
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path, "a", "folder")
    listing = tmp_path / "a" / "transforms.json"
    with pytest.raises(NotADirectoryError, match=rf"^{re.escape(str(listing))}: is a file, not a folder \(a multiview "
                                                 rf"root is .*; its folder {re.escape(str(listing.parent))} is one\)$"):
        MultiViewDataset(listing, num_frames=4, height=16)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"notes\.txt: is a file, not a folder \(.* or a folder of them\)$"):
        MultiViewDataset(other, num_frames=4, height=16)
    archive = tmp_path / "scenes.zip"  # a zip of scenes: read by camvid only (it said "no such folder")
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(NotADirectoryError, match=r"scenes\.zip: is a file, not a folder \(.*; an archive is read by the "
                                                 r"camvid type only: unpack it\)$"):
        MultiViewDataset(archive, num_frames=4, height=16)


def test_a_reconfusion_root_not_there_or_a_file_is_said_so(tmp_path, monkeypatch):
    """``ReconFusionDataset`` said ``../rf: no index.json (not a ReconFusion torch folder)`` of a folder not there,
    without the note that a relative root is taken from the current folder (as the other datasets say), and
    ``rf/index.json: no index.json`` of the index given as the root."""
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path / "rf", "a", "reconfusion")
    monkeypatch.chdir(tmp_path / "rf")
    with pytest.raises(FileNotFoundError, match=r"^\.\./nowhere: no such folder \(a relative path: from the current "
                                                r"folder, "):
        ReconFusionDataset("../nowhere", num_frames=4, height=16)
    with pytest.raises(NotADirectoryError, match=r"^index\.json: is a file, not a folder \(a reconfusion root is a "
                                                 r"ReconFusion torch folder, index\.json and its scene files; its "
                                                 r"folder \. is one\)$"):
        ReconFusionDataset("index.json", num_frames=4, height=16)
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(FileNotFoundError, match=r"loop: no such folder \(a loop of symbolic links: loop -> "):
        ReconFusionDataset(loop, num_frames=4, height=16)
    assert len(ReconFusionDataset(".", num_frames=4, height=16)) == 1
