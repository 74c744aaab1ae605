"""A multi-view scene whose transforms.json (or COLMAP model) lists one image as two views (a frame's entry copied
over another's, a name written two ways) was read with the image twice, in silence: a training clip showed one
picture as two views, with two cameras. It is refused now, naming the file and the image, as ``genxd fewshot-data``
refuses such a capture."""

from __future__ import annotations

import json
import shutil

import pytest

from genxd.data.datasets import MultiViewDataset
from genxd.data.synthetic import make_clip, write_clip

pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    write_clip(make_clip(0, "3d", 4, 16, 16), root, "a", "folder")
    return root / "a"


@pytest.mark.parametrize("written", ["images/frame_00004.png", "./images/frame_00004.png", "images/frame_00004"])
def test_an_image_listed_as_two_views_is_refused(scene, tmp_path, written):
    copy = tmp_path / "a"
    shutil.copytree(scene, copy)
    meta = json.loads((copy / "transforms.json").read_text())
    meta["frames"][1] = dict(meta["frames"][3], file_path=written)
    (copy / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError) as caught:
        MultiViewDataset(copy, num_frames=4, height=16)
    assert str(caught.value) == (f"{copy / 'transforms.json'}: {written} is listed as 2 views (frames 1 and 3): one "
                                 "image may not be two views of a scene (a training clip would show it twice)")


def test_each_image_listed_once_is_read(scene):
    dataset = MultiViewDataset(scene, num_frames=4, height=16)
    assert len({p.name for p in dataset.scenes[0].image_paths}) == 4


def test_an_image_a_colmap_model_registers_twice_is_refused(tmp_path):
    import imageio.v3 as iio
    import numpy as np
    import torch

    from genxd.cameras import intrinsics_from_focal, look_at, write_colmap_model

    folder = tmp_path / "c"
    t = torch.arange(3, dtype=torch.float32)
    c2w = look_at(torch.stack([t, 0 * t, 0 * t], -1) * 0.3, torch.tensor([0.3, 0.0, 5.0]),
                  up=torch.tensor([0.0, -1.0, 0.0]))
    write_colmap_model(folder / "sparse" / "0", c2w, intrinsics_from_focal(1.0), 16, 16, ["a.png", "b.png", "./a.png"])
    (folder / "images").mkdir()
    for name in ("a.png", "b.png"):
        iio.imwrite(folder / "images" / name, np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=r"sparse/0: \./a\.png is listed as 2 views \(as \./a\.png and a\.png\): "
                                         r"one image may not be two views of a scene"):
        MultiViewDataset(folder, num_frames=3, height=16)
