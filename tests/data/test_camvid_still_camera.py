"""Still-camera curations (``sfm_mapper: static_camera``) written before 22ff448: their COLMAP camera had fy = focal x
H, not fx = focal x W, pixels stretched by the frame's aspect; training read that K as it was, without a word."""

from __future__ import annotations

import warnings

import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip
from tests.helpers import old_still_camera_curation

pytest.importorskip("pycolmap")


def test_an_old_still_camera_curation_trains_with_square_pixels_and_a_warning(tmp_path):
    old_still_camera_curation(tmp_path, "still0", 32, 64)
    old_still_camera_curation(tmp_path, "still1", 32, 64)
    data = CamVidDataset(tmp_path, num_frames=4, height=32, width=64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [data[i] for i in range(len(data))]
    for item in items:
        K = item["K"]  # normalised: fx / W, fy / H
        assert torch.allclose(K[:, 1, 1] / K[:, 0, 0], torch.tensor(64 / 32)), K[0]
    named = [str(w.message) for w in caught if "still-camera curation" in str(w.message)]
    assert len(named) == 1 and named[0].startswith("still0: ") and "re-curating" in named[0], named


def test_other_videos_keep_their_camera(tmp_path):
    write_clip(make_clip(3, "4d", 8, 32, 64), tmp_path, "moving", "camvid", num_points=50)
    from genxd.cameras import read_colmap_model

    model = read_colmap_model(tmp_path / "moving" / "0")
    data = CamVidDataset(tmp_path, num_frames=4, height=32, width=64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        K = data[0]["K"]
    assert not [w for w in caught if "still-camera" in str(w.message)]
    assert torch.allclose(K[0, 1, 1] / K[0, 0, 0], model.K[0, 1, 1] / model.K[0, 0, 0])  # as the model gives it
