"""A list option of a dataset given one name alone (YAML ``motion_keys: motion_strength``, ``photos: brick``,
``keys: scene_a``) is that name, as ``kinds: 3d`` and ``stride: 2`` are: it was taken character by character, so a
CamVid video's motion strength was looked up under the keys ``m``, ``o``, ... and every 4D video trained with
motion strength 0 (a warning listing the characters), and the photo and ReconFusion datasets refused the characters."""

from __future__ import annotations

import json

import pytest

from genxd.data.datasets import CamVidDataset, ReconFusionDataset
from genxd.data.photo_scenes import PhotoSceneDataset
from genxd.data.synthetic import make_clip, write_clip
from genxd.validation import GenXDWarning


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def clip():
    return make_clip(4, "4d", 4, 32, 32, camera="orbit", motion_strength=0.6)


def test_camvid_motion_keys_of_one_key(clip, tmp_path, recwarn):
    write_clip(clip, tmp_path, "video0", "camvid")
    stored = json.loads((tmp_path / "video0" / "meta.json").read_text())["motion_strength"]
    ds = CamVidDataset(tmp_path, num_frames=4, height=32, motion_keys="motion_strength", motion_scale=1.0)
    assert ds.motion_keys == ("motion_strength",)
    assert float(ds[0]["motion_strength"]) == pytest.approx(stored, rel=1e-5) and stored > 0
    assert not [w for w in recwarn if "no motion strength" in str(w.message)]


def test_photo_dataset_photos_of_one_name():
    ds = PhotoSceneDataset(length=1, num_frames=2, height=16, photos="brick")
    assert [p.name for p in ds.pool.photos] == ["brick"]


def test_reconfusion_keys_of_one_key(clip, tmp_path):
    write_clip(clip, tmp_path, "scene_a", "reconfusion")
    write_clip(clip, tmp_path, "scene_b", "reconfusion")
    ds = ReconFusionDataset(tmp_path, num_frames=4, height=32, keys="scene_b", camera_normalization="none")
    assert ds.keys == ["scene_b"]


def test_reconfusion_keys_given_as_an_empty_list_are_said_so(tmp_path):
    """``keys: []`` was refused as "no scene has enough frames for clips of 4 frames ...; 0 scenes found"."""
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path / "rf", "a", "reconfusion")
    with pytest.raises(ValueError, match=r"^keys: an empty list chooses no scene of .*rf.index\.json; leave it out "
                                         r"to train every scene$"):
        ReconFusionDataset(tmp_path / "rf", num_frames=4, height=16, keys=[])
    assert ReconFusionDataset(tmp_path / "rf", num_frames=4, height=16, keys="a").keys == ["a"]


def test_reconfusion_keys_given_twice_are_read_once_with_a_warning(tmp_path):
    """``keys: [a, a]`` read scene a once, in silence (a user weighing it twice got it once)."""
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path / "rf", "a", "reconfusion")
    write_clip(make_clip(1, "3d", 4, 16, 16), tmp_path / "rf", "b", "reconfusion")
    with pytest.warns(GenXDWarning, match=r"^ReconFusionDataset: 1 key is given more than once \(e\.g\. 'a'\): each "
                                          r"scene is read once \(to weigh a dataset, give its data\.datasets entry a "
                                          r"weight\)$"):
        ds = ReconFusionDataset(tmp_path / "rf", num_frames=4, height=16, keys=["a", "b", "a"])
    assert ds.keys == ["a", "b"]


def test_no_clip_in_one_scene_says_one_scene(tmp_path):
    """'1 scenes found' in the refusal of a dataset with one scene too short for a clip."""
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path / "rf", "a", "reconfusion")
    with pytest.raises(ValueError, match=r"no scene has enough frames for clips of 8 frames \(strides \[1\]\); 1 scene "
                                         r"found$"):
        ReconFusionDataset(tmp_path / "rf", num_frames=8, height=16)
