"""``genxd reconstruct`` reads the image files of a transforms.json or COLMAP input as ``genxd train``'s datasets and
its own ReconFusion reader do (``genxd.utils.images.decode_rgb``): transparency on white, colour profiles applied."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.cameras import intrinsics_from_focal, look_at
from genxd.data.datasets import MultiViewDataset
from genxd.reconstruction.views import load_views
from tests.reconstruction.helpers import write_views_folder
from tests.utils.test_colour_profiles import DISPLAY_P3, matrix_profile


def _folder_of(tmp_path, save) -> tuple:
    """A transforms.json folder of 2 views whose frames ``save(path)`` rewrites."""
    eye = torch.tensor([[3.0, -1.0, 0.0], [2.5, -1.0, 1.5]])
    c2w = look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))
    folder = write_views_folder(tmp_path / "scene", torch.zeros(2, 3, 8, 8), c2w,
                                intrinsics_from_focal(1.0).expand(2, 3, 3))
    for path in sorted((folder / "frames").iterdir()):
        save(path)
    return folder


@pytest.mark.parametrize("case", ["cutout", "display_p3"])
def test_reconstruct_reads_frames_as_training_does(tmp_path, case: str) -> None:
    """A cut-out (RGBA, the original background's colours kept under alpha 0, as background removers leave them) was
    read with its alpha dropped, the removed background back; a Display P3 photo (an iPhone's) kept its P3 numbers.
    Training saw white and sRGB colours: the same folder gave two different scenes."""
    if case == "cutout":
        rgba = np.zeros((8, 8, 4), np.uint8)
        rgba[..., :3] = (30, 160, 90)  # the removed background's colour, still stored
        rgba[2:6, 2:6] = (200, 100, 50, 255)  # the object

        def save(path):
            PIL.Image.fromarray(rgba, "RGBA").save(path)
    else:
        colours = np.array([[200, 100, 50], [30, 160, 90]], np.uint8).repeat(32, 0).reshape(8, 8, 3)

        def save(path):
            PIL.Image.fromarray(colours).save(path, icc_profile=matrix_profile(DISPLAY_P3, None))
    folder = _folder_of(tmp_path, save)
    views = load_views(folder)
    sample = MultiViewDataset(folder, num_frames=2, height=8, width=8, camera_normalization="none")[0]
    assert torch.allclose(views.images, sample["frames"], atol=1e-6)
    if case == "cutout":
        assert torch.equal(views.images[0, :, 0, 0], torch.ones(3))  # white, not the removed background
