"""A CamVid / ``genxd curate``-layout folder whose COLMAP model names its images in another letter case than the
files in ``images/`` (a model made on macOS or Windows, where ``IMG_0001.JPG`` opens ``img_0001.jpg``)."""

from __future__ import annotations

import shutil

import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip


@pytest.fixture(scope="module")
def clip_root(tmp_path_factory):
    """One 4D CamVid video (8 frames of 32 x 32) written once; each test changes its own copy (:func:`_plain_copy`)."""
    root = tmp_path_factory.mktemp("plain")
    write_clip(make_clip(12, "4d", 8, 32, 32), root, "dynamic0", "camvid", num_points=200)
    return root


def _plain_copy(clip_root, tmp_path):
    """``tmp_path / "plain"``: a copy of the module's clip folder, the test's to change."""
    return shutil.copytree(clip_root, tmp_path / "plain")


def test_frames_named_in_another_case_than_the_model_keep_their_poses(clip_root, tmp_path):
    """The frames were looked up in the model by their exact names: ``00000.JPG`` beside a model naming
    ``00000.jpg`` had no pose (here every frame: 'the COLMAP model registers none of the 8 images'; with some
    renamed, clips over frames read from the nearest posed ones). They now match as those file systems match."""
    _plain_copy(clip_root, tmp_path)
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


def test_two_frames_of_one_name_up_to_case_match_only_exactly(clip_root, tmp_path):
    """On a file system that keeps case apart, ``00000.jpg`` and ``00000.JPG`` are two frames: the model's
    ``00000.jpg`` is the first one's pose only, never both."""
    _plain_copy(clip_root, tmp_path)
    images = tmp_path / "plain" / "dynamic0" / "images"
    if (images / "00000.JPG").exists():  # a file system that ignores case
        pytest.skip("the file system ignores letter case")
    shutil.copyfile(images / "00000.jpg", images / "00000.JPG")
    got = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    cams = got._load_cameras(0)
    frames = got.videos[0].frames
    assert frames.count("00000.JPG") == 1 and frames.index("00000.JPG") not in cams.valid


def _rename_model_images(model_dir, rename):
    import pycolmap

    recon = pycolmap.Reconstruction(str(model_dir))
    for image in recon.images.values():
        image.name = rename(image.name)
    recon.write(str(model_dir))


def test_two_frames_alike_up_to_case_take_no_pose_by_key(clip_root, tmp_path):
    """Frames ``00000.jpg`` and ``00000.Jpg`` (two files on Linux) beside a model naming ``00000.JPG``: neither name
    is registered and the key is shared, so neither has a pose. The exact look-up read the same mapping as the keys:
    ``00000.jpg`` took the model's ``00000.JPG`` by its key (one of two frames, chosen by how it was spelt)."""
    _plain_copy(clip_root, tmp_path)
    scene = tmp_path / "plain" / "dynamic0"
    images = scene / "images"
    if (images / "00000.Jpg").exists():  # a file system that ignores case
        pytest.skip("the file system ignores letter case")
    shutil.copyfile(images / "00000.jpg", images / "00000.Jpg")
    _rename_model_images(scene / "0", lambda name: name.replace(".jpg", ".JPG"))
    got = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    frames = got.videos[0].frames
    cams = got._load_cameras(0)
    assert {"00000.jpg", "00000.Jpg"} <= set(frames)
    assert frames.index("00000.jpg") not in cams.valid and frames.index("00000.Jpg") not in cams.valid
    assert frames.index("00001.jpg") in cams.valid  # the others still match by key


def test_a_key_two_model_images_share_matches_no_frame(clip_root, tmp_path):
    """A model registering ``00000.jpg`` and ``images/00000.JPG`` (two images of one key) and one frame
    ``00000.Jpg``: which of the two it is cannot be told, so it has no pose (the key's look-up found the exact name
    ``00000.jpg``)."""
    _plain_copy(clip_root, tmp_path)
    scene = tmp_path / "plain" / "dynamic0"
    (scene / "images" / "00000.jpg").rename(scene / "images" / "00000.Jpg")
    _rename_model_images(scene / "0", lambda name: "images/00000.JPG" if name == "00001.jpg" else name)
    got = CamVidDataset(tmp_path / "plain", num_frames=4, height=32)
    frames = got.videos[0].frames
    cams = got._load_cameras(0)
    assert frames.index("00000.Jpg") not in cams.valid
    assert frames.index("00002.jpg") in cams.valid
