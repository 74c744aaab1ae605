"""genxd.data.reconfusion: the ReconFusion torch format (write -> load, and the raw layout)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from genxd.cameras import intrinsics_from_focal, look_at
from genxd.data.reconfusion import (
    cameras_to_poses,
    load_reconfusion,
    load_reconfusion_scene,
    poses_to_cameras,
    write_reconfusion_scene,
)


@pytest.fixture
def scene():
    g = torch.Generator().manual_seed(0)
    n = 7
    eyes = torch.randn(n, 3, generator=g) * 2
    c2w = look_at(eyes, torch.zeros(n, 3)).float()
    K = intrinsics_from_focal(torch.linspace(0.9, 1.2, n), torch.linspace(1.0, 1.3, n), 0.48, 0.51)
    images = torch.rand(n, 3, 10, 14, generator=g)
    splits = {3: ([0, 3, 6], [1, 2, 4, 5]), 6: ([0, 1, 2, 3, 4, 5], [6])}
    return images, c2w, K, splits


def test_write_load_round_trip(tmp_path, scene):
    images, c2w, K, splits = scene
    write_reconfusion_scene(tmp_path, "kitchen/001", images, c2w, K, splits)
    write_reconfusion_scene(tmp_path, "garden", images[:4], c2w[:4], K[:4], {3: ([0, 1, 2], [3])})
    data = load_reconfusion(tmp_path)
    assert list(data) == ["kitchen/001", "garden"]
    s = data["kitchen/001"]
    assert s.key == "kitchen/001" and len(s) == 7
    assert torch.allclose(s.c2w, c2w, atol=1e-5) and torch.allclose(s.K, K, atol=1e-6)
    assert s.splits == splits
    # PNG storage is lossless after 8-bit quantisation.
    assert torch.equal(s.images, (images * 255).round() / 255)
    assert len(data["garden"]) == 4
    assert list(load_reconfusion(tmp_path, keys=["garden"])) == ["garden"]


def test_the_same_scene_is_written_as_the_same_bytes(tmp_path, scene):
    """torch.save named the archive inside the file after the random temporary name of the atomic write, so two
    writes of one scene (``genxd synth --format reconfusion`` with one seed) differed byte for byte."""
    images, c2w, K, splits = scene
    first = write_reconfusion_scene(tmp_path / "a", "s", images, c2w, K, splits).read_bytes()
    assert write_reconfusion_scene(tmp_path / "b", "s", images, c2w, K, splits).read_bytes() == first


def test_raw_layout_is_what_the_authors_read(tmp_path, scene):
    images, c2w, K, splits = scene
    path = write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index == {"s": path.name}
    raw = torch.load(tmp_path / index["s"], weights_only=True)[0]
    cams = raw["cameras"]
    assert cams.shape == (7, 18)
    assert torch.allclose(cams[:, :4], torch.stack([K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2]], 1))
    assert torch.equal(cams[:, 4:6], torch.zeros(7, 2))
    w2c = torch.linalg.inv(c2w.double())[:, :3].reshape(7, 12)
    assert torch.allclose(cams[:, 6:].double(), w2c, atol=1e-6)
    assert raw["train_test_split_3"] == {"train_ids": [0, 3, 6], "test_ids": [1, 2, 4, 5]}
    # Images: encoded file bytes in uint8 tensors, decodable the authors' way (PIL from bytes).
    assert raw["images"][0].dtype == torch.uint8 and raw["images"][0].ndim == 1
    im = Image.open(io.BytesIO(raw["images"][2].numpy().tobytes()))
    assert im.size == (14, 10)
    np.testing.assert_array_equal(np.asarray(im), (images[2] * 255).round().byte().permute(1, 2, 0).numpy())


def test_cameras_rows_round_trip(scene):
    _, c2w, K, _ = scene
    c2w2, K2 = cameras_to_poses(poses_to_cameras(c2w, K))
    assert torch.allclose(c2w2, c2w, atol=1e-5) and torch.allclose(K2, K, atol=1e-6)
    with pytest.raises(ValueError, match=r"\[N, 18\]"):
        cameras_to_poses(torch.zeros(3, 16))


def test_errors_overwrite_and_extras(tmp_path, scene):
    images, c2w, K, splits = scene
    with pytest.raises(ValueError, match="out of range"):
        write_reconfusion_scene(tmp_path, "s", images, c2w, K, {3: ([0, 1, 9], [2])})
    with pytest.raises(ValueError, match="images"):
        write_reconfusion_scene(tmp_path, "s", images[:3], c2w, K, splits)
    assert not (tmp_path / "index.json").exists()
    bounds = np.tile([[0.5, 20.0]], (7, 1))
    write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits, extras={"poses_bounds": bounds})
    with pytest.raises(FileExistsError):
        write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits)
    write_reconfusion_scene(tmp_path, "s", images[:2], c2w[:2], K[:2], {1: ([0], [1])}, overwrite=True)
    s = load_reconfusion(tmp_path, decode_images=False)["s"]
    assert s.images is None and len(s) == 2 and s.decoded_images().shape == (2, 3, 10, 14)
    assert "poses_bounds" not in s.extras  # replaced scene
    write_reconfusion_scene(tmp_path, "llff", images, c2w, K, splits, extras={"poses_bounds": bounds})
    loaded = load_reconfusion_scene(tmp_path / json.loads((tmp_path / "index.json").read_text())["llff"])
    np.testing.assert_array_equal(np.asarray(loaded.extras["poses_bounds"]), bounds)
    with pytest.raises(FileNotFoundError):
        load_reconfusion(tmp_path / "nothing")


def test_a_file_the_index_does_not_list_is_never_replaced(tmp_path, scene):
    """A ``<key>.torch`` already in the folder that ``index.json`` does not give this key (a user's own file, a
    scene of another tool) was replaced without ``overwrite``; the scene now takes another name."""
    images, c2w, K, splits = scene
    (tmp_path / "s.torch").write_bytes(b"mine")
    path = write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits)
    assert (tmp_path / "s.torch").read_bytes() == b"mine" and path.name == "s_1.torch"
    assert json.loads((tmp_path / "index.json").read_text()) == {"s": "s_1.torch"}
    assert len(load_reconfusion(tmp_path)["s"]) == 7
    # overwriting the scene replaces its own file, still not the stray one
    assert write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits, overwrite=True) == path
    assert (tmp_path / "s.torch").read_bytes() == b"mine"


def test_refuses_unsafe_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("should not run",))

    torch.save([{"images": [], "cameras": torch.zeros(0, 18), "x": Evil()}], tmp_path / "bad.torch")
    with pytest.raises(ValueError, match="not a safe torch file"):
        load_reconfusion_scene(tmp_path / "bad.torch")


@pytest.mark.parametrize("split, words", [
    ({"train_ids": [0, 3, 6], "test_ids": [1, 3, 4]}, "views [3] are both training and test views"),
    ({"train_ids": [0, 0, 6], "test_ids": [1, 2]}, "train_ids lists views [0] more than once"),
    ({"train_ids": [0, 3, 6], "test_ids": [1, 2, 2]}, "test_ids lists views [2] more than once"),
])
def test_a_split_whose_test_views_are_inputs_is_refused(tmp_path, scene, split, words):
    """Found by the few-shot audit: a split whose test ids repeat a training id was read as it was, and the
    held-out metrics then scored views the Gaussians were trained on (a 3-view scene: 23.3 dB held-out where
    its true test views give 20.3); a training id given twice made a 3-view split of 2 views, silently."""
    images, c2w, K, splits = scene
    path = write_reconfusion_scene(tmp_path, "s", images, c2w, K, splits)
    raw = torch.load(path, weights_only=True)
    raw[0]["train_test_split_3"] = split
    torch.save(raw, path)
    with pytest.raises(ValueError, match=r"train_test_split_3: " + words.replace("[", r"\[").replace("]", r"\]")):
        load_reconfusion_scene(path)
    with pytest.raises(ValueError, match="splits\\[3\\]: "):  # and the writer refuses to write one
        write_reconfusion_scene(tmp_path / "w", "s", images, c2w, K, {3: (split["train_ids"], split["test_ids"])})


def test_every_reader_finds_the_scene_an_index_names_with_backslashes(tmp_path, scene):
    """An index written on Windows (``scenes\\a.torch``): load_reconfusion read the scene (the name went through
    path_inside, which takes ``\\`` as ``/``), the training dataset looked for a file named ``scenes\\a.torch``."""
    from genxd.data.datasets import ReconFusionDataset
    from genxd.data.reconfusion import read_reconfusion_index

    images, c2w, K, splits = scene
    written = write_reconfusion_scene(tmp_path, "a", images, c2w, K, splits)
    (tmp_path / "scenes").mkdir()
    written.rename(tmp_path / "scenes" / "a.torch")
    (tmp_path / "index.json").write_text(json.dumps({"a": ".\\scenes\\a.torch"}))
    assert read_reconfusion_index(tmp_path) == {"a": "scenes/a.torch"}
    assert torch.allclose(load_reconfusion(tmp_path)["a"].c2w, c2w, atol=1e-5)
    dataset = ReconFusionDataset(tmp_path, num_frames=3, height=8, camera_normalization="none")
    assert dataset.files == [tmp_path / "scenes" / "a.torch"]
    assert torch.allclose(dataset.cameras[0][0], c2w, atol=1e-5)


def test_the_training_dataset_names_the_file_and_view_of_an_image_it_cannot_read(tmp_path, scene):
    """A damaged image in a scene file was "image: cannot read image (...)" from the training dataset, naming neither
    the file nor the view (the CamVid and multi-view datasets name the file); now both."""
    from genxd.data.datasets import ReconFusionDataset

    images, c2w, K, splits = scene
    path = write_reconfusion_scene(tmp_path, "a", images, c2w, K, splits)
    data = torch.load(path, weights_only=True)
    data[0]["images"][1] = torch.frombuffer(bytearray(b"not an image"), dtype=torch.uint8)
    torch.save(data, path)
    dataset = ReconFusionDataset(tmp_path, num_frames=3, height=8)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: image 1: cannot read image \("):
        dataset[0]
