"""A multi-view scene reached twice (``root: [scenes, scenes]``, or a folder of scenes and one of its scenes) was
trained twice as often as the others, in silence (``CamVidDataset`` reads a root given twice once, with a warning):
each scene is now read once, with one warning naming the first repeat."""

from __future__ import annotations

import warnings

import pytest

from genxd.data.datasets import MultiViewDataset
from genxd.data.synthetic import make_clip, write_clip
from genxd.validation import GenXDWarning

pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    for seed, name in enumerate(("a", "b")):
        write_clip(make_clip(seed, "3d", 4, 16, 16), root, name, "folder")
    return root


def test_a_scene_reached_twice_is_read_once_with_a_warning(scenes, monkeypatch):
    monkeypatch.chdir(scenes.parent)
    with pytest.warns(GenXDWarning, match=rf"MultiViewDataset: 3 scene folders are given more than once \(e\.g\. "
                                          rf"{scenes.name}/a, as .+/{scenes.name}/a\): each scene is read once"):
        dataset = MultiViewDataset([scenes, f"{scenes.name}/", scenes / "a"], num_frames=4, height=16)
    assert dataset.scene_names() == ["a", "b"] and len(dataset) == 2


def test_scenes_given_once_say_nothing(scenes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = MultiViewDataset([scenes / "b", scenes / "a"], num_frames=4, height=16)
    assert dataset.scene_names() == ["b", "a"]
