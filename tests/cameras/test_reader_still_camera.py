"""A still-camera curation written before 22ff448 (COLMAP camera fy = focal x H, pixels stretched by the frame's
aspect) given as a camera path (``genxd generate --camera <sample>``): its K was read stretched, while training's
camvid dataset read the same model with square pixels."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import read_camera_path
from genxd.validation import GenXDWarning
from tests.helpers import old_still_camera_curation

pytest.importorskip("pycolmap")


def test_an_old_still_camera_curation_read_as_a_camera_path_has_square_pixels(tmp_path):
    old_still_camera_curation(tmp_path, "still", 32, 64, focal=0.8)
    with pytest.warns(GenXDWarning, match="still-camera curation") as caught:
        path = read_camera_path(tmp_path / "still")
    assert str(tmp_path / "still") in str(caught[0].message)
    K = path.K  # normalised: fx / W, fy / H
    torch.testing.assert_close(K[:, 0, 0], torch.full((len(K),), 0.8, dtype=K.dtype))
    torch.testing.assert_close(K[:, 1, 1] * 32, K[:, 0, 0] * 64)  # fy = fx in pixels


def test_a_still_camera_curation_with_square_pixels_is_read_as_it_is(tmp_path, recwarn):
    from genxd.cameras import read_colmap_model
    from genxd.curation.static_camera import static_camera_sfm

    old_still_camera_curation(tmp_path, "still", 32, 64, focal=0.8)
    folder = tmp_path / "still"
    frames = sorted(p.name for p in (folder / "images").iterdir())
    static_camera_sfm(frames, 32, 64, 0.8).reconstruction.write(str(folder / "0"))  # as genxd curate writes it now
    path = read_camera_path(folder)
    assert not [w for w in recwarn if "still-camera" in str(w.message)]
    torch.testing.assert_close(path.K, read_colmap_model(folder / "0", dtype=torch.float64).K.to(path.K.dtype))
