"""A CamVid / ``genxd curate``-layout folder whose COLMAP model names its images in another letter case than the
files in ``images/`` (a model made on macOS or Windows, where ``IMG_0001.JPG`` opens ``img_0001.jpg``)."""

from __future__ import annotations

import shutil

import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip


def test_frames_named_in_another_case_than_the_model_keep_their_poses(tmp_path):
    """The frames were looked up in the model by their exact names: ``00000.JPG`` beside a model naming
    ``00000.jpg`` had no pose (here every frame: 'the COLMAP model registers none of the 8 images'; with some
    renamed, clips over frames read from the nearest posed ones). They now match as those file systems match."""
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "plain", "dynamic0", "camvid", num_points=200)
    upper = shutil.copytree(tmp_path / "plain", tmp_path / "upper")
    for f in sorted((upper / "dynamic0" / "images").iterdir()):
        f.rename(f.with_name(f.stem + ".JPG"))
    want = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    got = CamVidDataset(upper, num_frames=4, height=32)
    assert got.videos[0].frames == [f"{i:05d}.JPG" for i in range(8)]
    assert len(got) == len(want) == 2
    for i in range(len(want)):
        a, b = want[i], got[i]
        assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["c2w"], b["c2w"])
        assert torch.equal(a["K"], b["K"])


def test_two_frames_of_one_name_up_to_case_match_only_exactly(tmp_path):
    """On a file system that keeps case apart, ``00000.jpg`` and ``00000.JPG`` are two frames: the model's
    ``00000.jpg`` is the first one's pose only, never both."""
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "plain", "dynamic0", "camvid", num_points=200)
    images = tmp_path / "plain" / "dynamic0" / "images"
    if (images / "00000.JPG").exists():  # a file system that ignores case
        pytest.skip("the file system ignores letter case")
    shutil.copyfile(images / "00000.jpg", images / "00000.JPG")
    got = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    cams = got._load_cameras(0)
    frames = got.videos[0].frames
    assert frames.count("00000.JPG") == 1 and frames.index("00000.JPG") not in cams.valid
