"""A COLMAP dataset's model folder (``sparse/0``, ``sparse``) or its ``images/`` given instead of the dataset folder
(``genxd fewshot-data``, ``genxd reconstruct``): the error said only what inputs are supported; now it names the
dataset folder to give. A folder that is not part of one keeps the plain message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.cameras import intrinsics_from_focal, look_at, write_colmap_model
from genxd.reconstruction.views import load_views


@pytest.fixture()
def dataset(tmp_path):
    import imageio.v3 as iio

    n, h, w = 3, 8, 12
    az = torch.linspace(0, 1, n)
    c2w = look_at(torch.stack([3 * az.cos(), 0 * az, 3 * az.sin()], -1), torch.zeros(3), up=torch.tensor([0, -1.0, 0]))
    names = [f"{i}.png" for i in range(n)]
    root = tmp_path / "scene"
    write_colmap_model(root / "sparse" / "0", c2w, intrinsics_from_focal(1.0), h, w, names)
    (root / "images").mkdir()
    (root / "notes").mkdir()
    for name in names:
        iio.imwrite(root / "images" / name, np.zeros((h, w, 3), np.uint8))
    return root


@pytest.mark.parametrize("given", ["sparse/0", "sparse", "images"])
def test_a_part_of_a_colmap_dataset_names_the_dataset(dataset, given):
    with pytest.raises(ValueError) as caught:
        load_views(dataset / given)
    assert str(caught.value).endswith(f"; it is part of the COLMAP dataset {dataset.resolve()} (images/ + sparse/0/): "
                                      "give that folder")
    assert len(load_views(dataset)) == 3  # which reads


def test_another_folder_keeps_the_plain_message(dataset):
    with pytest.raises(ValueError, match=r"DTU's Rectified/scanN\)$"):
        load_views(dataset / "notes")
