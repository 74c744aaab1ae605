"""A CamVid video whose COLMAP model registers fewer images than a clip has frames: its clips repeated frames (a 4D
clip whose objects stop, then jump), in silence. An unpacked one is now skipped when the dataset is built (one
warning naming it, counted with the videos too short); an archived one is refused naming its model when read."""

from __future__ import annotations

import warnings
import zipfile

import pytest

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip

pycolmap = pytest.importorskip("pycolmap")


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture
def root(tmp_path):
    """Two 4D videos of 8 frames; the model of ``few`` keeps the poses of its first 2 frames only."""
    root = tmp_path / "camvid"
    write_clip(make_clip(21, "4d", 8, 32, 32), root, "whole", "camvid", num_points=500)
    write_clip(make_clip(22, "4d", 8, 32, 32), root, "few", "camvid", num_points=500)
    model = pycolmap.Reconstruction(str(root / "few" / "0"))
    for image_id in sorted(model.images)[2:]:
        model.deregister_frame(model.images[image_id].frame_id)
    model.write(str(root / "few" / "0"))
    assert pycolmap.Reconstruction(str(root / "few" / "0")).num_reg_images() == 2
    return root


def test_an_unpacked_video_posing_fewer_images_than_a_clip_is_skipped_when_built(root):
    with pytest.warns(UserWarning, match=r"1 of 2 videos are not trained: their COLMAP model registers fewer images "
                                         r"than a clip's 4 frames \(e\.g\. .*few/0: 2 of 8\)"):
        ds = CamVidDataset(root, num_frames=4, height=32)
    assert ds.num_skipped_scenes == 1
    assert [ds[i]["name"] for i in range(len(ds))] == ["whole:0", "whole:4"]


def test_a_clip_of_two_frames_still_trains_it(root):
    ds = CamVidDataset(root, num_frames=2, height=32)
    assert sorted({ds.videos[s].name for s, _ in ds.clips}) == ["few", "whole"] and ds.num_skipped_scenes == 0


def test_an_archived_one_is_refused_naming_its_model_when_read(root, tmp_path):
    archive = tmp_path / "batch_0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((root / "few").rglob("*")):
            if p.is_file():
                zf.write(p, "few/" + p.relative_to(root / "few").as_posix())
    ds = CamVidDataset(archive, num_frames=4, height=32)
    with pytest.raises(ValueError, match=r"batch_0\.zip: few/0/: the COLMAP model registers 2 of the 8 images of few, "
                                         r"fewer than a clip's 4 frames \(its clips would repeat frames\)"):
        ds[0]


def test_frames_missing_from_images_are_said(tmp_path):
    """A video whose ``images/`` lost frames that its model registers (a copy cut short) trained in silence: its clips,
    taken frame by frame from the files there, jumped over the missing frames in time. One warning names it now
    (from the ``images.bin`` header: no model is read)."""
    root = tmp_path / "camvid"
    write_clip(make_clip(23, "3d", 8, 32, 32), root, "whole", "camvid", num_points=100)
    write_clip(make_clip(24, "3d", 8, 32, 32), root, "cut", "camvid", num_points=100)
    for name in ("00002.jpg", "00003.jpg"):
        (root / "cut" / "images" / name).unlink()
    with pytest.warns(UserWarning, match=r"1 of 2 videos have fewer image files than their COLMAP model registers "
                                         r"\(e\.g\. .*cut/images: 6 files, 8 registered\): frames are missing"):
        ds = CamVidDataset(root, num_frames=4, height=32, kind="3d")
    assert sorted({ds.videos[s].name for s, _ in ds.clips}) == ["cut", "whole"]  # still trained
    write_clip(make_clip(24, "3d", 8, 32, 32), root, "cut", "camvid", num_points=100, overwrite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CamVidDataset(root, num_frames=4, height=32, kind="3d")
