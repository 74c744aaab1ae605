"""Whole-number options of the datasets given as a fraction, a string or a bool (a ``data.datasets`` entry of a
config goes to the constructor as written). Before: ``num_frames: 2.5`` trained clips of 2 frames and ``stride: 1.5``
a stride of 1, in silence; ``num_frames: "8"`` was ``TypeError: '<' not supported between instances of 'str' and
'int'`` (a traceback, the option unnamed); ``height: 16.5`` was a TypeError of ``F.interpolate`` when an item was
read, in a loader worker. Now each is a ValueError naming the option when the dataset is made, and a whole number
written as a float (``height: 256.0``) is that number."""

from __future__ import annotations

import re

import pytest

from genxd.data.datasets import CamVidDataset, MixtureDataset, MultiViewDataset, SyntheticDataset
from genxd.data.photo_scenes import PhotoSceneDataset
from genxd.data.synthetic import make_clip, write_clip

pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.mark.parametrize("option", ["num_frames", "height", "width"])
@pytest.mark.parametrize("value", [2.5, 16.5, "16", True])
def test_a_clip_size_that_is_no_whole_number_is_named(tmp_path, option, value):
    with pytest.raises(ValueError, match=rf"^{option} must be a whole number, got {value!r}$"):
        MultiViewDataset(tmp_path, **{"num_frames": 4, "height": 16, option: value})


@pytest.mark.parametrize("value", [1.5, True])
def test_a_fractional_stride_is_named(tmp_path, value):
    with pytest.raises(ValueError, match=rf"^stride must be a whole number >= 1 or a list of them, got {value!r}$"):
        MultiViewDataset(tmp_path, num_frames=4, height=16, stride=value)


@pytest.mark.parametrize("value", [2.5, "3"])
def test_a_rendered_dataset_length_that_is_no_whole_number_is_named(value):
    with pytest.raises(ValueError, match=rf"^length must be a whole number, got {value!r}$"):
        SyntheticDataset(length=value, num_frames=2, height=16)


@pytest.mark.parametrize("cls", [SyntheticDataset, PhotoSceneDataset])
@pytest.mark.parametrize("value", [2.5, "3"])
def test_a_supersample_that_is_no_whole_number_is_named(cls, value):
    with pytest.raises(ValueError, match=rf"^supersample must be a whole number, got {value!r}$"):
        cls(length=2, num_frames=2, height=16, supersample=value)


def test_a_whole_number_written_as_a_float_is_that_number(tmp_path):
    write_clip(make_clip(0, "3d", 4, 16, 16), tmp_path, "scene", "folder")
    dataset = MultiViewDataset(tmp_path, num_frames=4.0, height=16.0, width=24.0, stride=1.0)
    assert (dataset.num_frames, dataset.height, dataset.width, dataset.strides) == (4, 16, 24, [1])
    assert tuple(dataset[0]["frames"].shape) == (4, 3, 16, 24)


@pytest.mark.parametrize("option, value, words", [
    ("max_depth", "3", "max_depth must be a whole number, got '3'"),
    ("max_depth", -1, "max_depth must be >= 0, got -1"),
    ("cache_size", 1.5, "cache_size must be a whole number, got 1.5"),
])
def test_camvid_search_and_cache_options_are_whole_numbers(tmp_path, option, value, words):
    """``max_depth: "3"`` was a TypeError ('>=' not supported between 'int' and 'str'), ``max_depth: -1`` "no CamVid
    samples found" under a folder full of them, ``cache_size: 1.5`` a cache of 1, in silence."""
    with pytest.raises(ValueError, match=rf"^{re.escape(words)}$"):
        CamVidDataset(tmp_path, num_frames=4, height=16, **{option: value})


def test_multiview_max_points_is_a_whole_number(tmp_path):
    with pytest.raises(ValueError, match=r"^max_points must be a whole number, got '10'$"):
        MultiViewDataset(tmp_path, num_frames=4, height=16, max_points="10")


@pytest.mark.parametrize("value", ["x", 1.5, True, None])
@pytest.mark.parametrize("make", [
    lambda root, seed: MultiViewDataset(root, num_frames=4, height=16, seed=seed),
    lambda root, seed: SyntheticDataset(length=2, num_frames=2, height=16, seed=seed),
    lambda root, seed: PhotoSceneDataset(length=2, num_frames=2, height=16, seed=seed),
    lambda root, seed: CamVidDataset(root, num_frames=4, height=16, seed=seed),
    lambda root, seed: MixtureDataset([SyntheticDataset(length=2, num_frames=2, height=16)], seed=seed),
], ids=["multiview", "synthetic", "photo", "camvid", "mixture"])
def test_a_seed_that_is_no_whole_number_is_named(tmp_path, make, value):
    """``seed: "x"`` was int()'s "invalid literal for int() with base 10: 'x'" (None a TypeError), naming no option;
    ``seed: 1.5`` (or true) was a seed of 1, in silence."""
    with pytest.raises(ValueError, match=rf"^seed must be a whole number, got {re.escape(repr(value))}$"):
        make(tmp_path, value)


def test_a_whole_number_seed_is_taken(tmp_path):
    assert SyntheticDataset(length=2, num_frames=2, height=16, seed=7.0).seed == 7
    assert MixtureDataset([SyntheticDataset(length=2, num_frames=2, height=16)], seed=-3).seed == -3
