"""A CamVid root whose video folders are symbolic links (``root/trip -> /mnt/drive/trip``, a dataset gathered from
several disks): ``os.walk`` does not enter links, so such a video was left out without a word (all of them: "no
CamVid samples found"). Links to folders are now searched as the folders they name, each folder once (a loop of
links, two links to one folder)."""

from __future__ import annotations

import os
import sys

import pytest

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip

pytest.importorskip("pycolmap", reason="a core dependency (the samples' COLMAP models), absent only on a bare GPU host")
pytestmark = [pytest.mark.usefixtures("single_thread"),  # tests/data/conftest.py
              pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need rights on Windows")]


def test_linked_video_folders_are_read_once_each(tmp_path):
    elsewhere = tmp_path / "drive"
    write_clip(make_clip(1, "3d", 4, 16, 16), elsewhere, "trip", "camvid", num_points=100)
    write_clip(make_clip(2, "3d", 4, 16, 16), elsewhere / "more", "hike", "camvid", num_points=100)
    root = tmp_path / "camvid"
    write_clip(make_clip(3, "3d", 4, 16, 16), root, "home", "camvid", num_points=100)
    os.symlink(elsewhere / "trip", root / "trip")  # a video folder
    os.symlink(elsewhere / "more", root / "more")  # a folder of videos
    os.symlink(elsewhere / "trip", root / "trip_again")  # the same video again (its first name is kept)
    os.symlink(root, root / "loop")  # a loop
    dataset = CamVidDataset(root, num_frames=4, height=16, kind="3d")
    assert sorted(v.name for v in dataset.videos) == ["hike", "home", "trip"]
    assert len(dataset) == 3
