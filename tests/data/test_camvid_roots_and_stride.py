"""A CamVid root given twice (``root: [cv, cv]``), or one inside another, trained each video twice, silently: it is
read once, with a warning.
A ``stride`` that is no number was refused as "invalid literal for int() with base 10: 'a'", not naming ``stride``."""

from __future__ import annotations

import pytest

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip
from genxd.validation import GenXDWarning


def test_a_root_given_twice_is_read_once_with_a_warning(tmp_path, monkeypatch):
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "cv", "dynamic0", "camvid", num_points=200)
    once = CamVidDataset(tmp_path / "cv", num_frames=4, height=32, kind="3d")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(GenXDWarning, match=r"root cv is given more than once \(as .*cv\): its videos are read once"):
        twice = CamVidDataset([tmp_path / "cv", "cv/"], num_frames=4, height=32, kind="3d")
    assert len(twice.videos) == len(once.videos) == 1 and len(twice) == len(once)


def test_a_stride_that_is_no_number_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^stride must be a whole number >= 1 or a list of them, got 'a'$"):
        CamVidDataset(tmp_path, num_frames=4, height=32, stride="a")


@pytest.mark.parametrize("value", ["a", 1.5, 0, True, [2]])
def test_a_clip_spacing_that_is_no_whole_number_is_named(tmp_path, value):
    # before: '<' not supported between instances of 'str' and 'int' (a TypeError), and 1.5 was taken
    with pytest.raises(ValueError, match=rf"^clip_spacing must be a whole number >= 1, got {value!r}$".replace("[", r"\[")):
        CamVidDataset(tmp_path, num_frames=4, height=32, clip_spacing=value)


def test_a_stride_listed_twice_is_taken_once(tmp_path):
    """``stride: [1, 2, 1]`` took every clip of stride 1 twice (trained twice as often, in silence)."""
    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "cv", "dynamic0", "camvid", num_points=200)
    once = CamVidDataset(tmp_path / "cv", num_frames=4, height=32, kind="3d", stride=[1, 2])
    listed_twice = CamVidDataset(tmp_path / "cv", num_frames=4, height=32, kind="3d", stride=[1, 2, 1])
    assert listed_twice.strides == [1, 2] and listed_twice.clips == once.clips


def test_a_root_inside_another_root_is_read_once_with_a_warning(tmp_path):
    """``root: [cv, cv/batch_1]`` (or ``cv/batch_1.zip``) trained each video of the inner root twice, silently (the
    docs said so: "a root inside another root is not looked for"); each video is now read once, with one warning."""
    import zipfile

    write_clip(make_clip(12, "4d", 8, 32, 32), tmp_path / "cv" / "batch_1", "dynamic0", "camvid", num_points=200)
    write_clip(make_clip(13, "4d", 8, 32, 32), tmp_path / "cv" / "batch_2", "dynamic1", "camvid", num_points=200)
    with zipfile.ZipFile(tmp_path / "cv" / "batch_3.zip", "w") as zf:
        for f in sorted(p for p in (tmp_path / "cv" / "batch_2").rglob("*") if p.is_file()):
            zf.write(f, f"zipped/{f.relative_to(tmp_path / 'cv' / 'batch_2').as_posix()}")
    once = CamVidDataset(tmp_path / "cv", num_frames=4, height=32, kind="3d")
    assert len(once.videos) == 3
    with pytest.warns(GenXDWarning, match=r"^CamVidDataset: 2 videos are found again under another root \(e\.g\. "
                                          r".*batch_1.dynamic0, as .*batch_1.dynamic0: a root inside another root\): "
                                          r"each is read once"):
        inner = CamVidDataset([tmp_path / "cv", tmp_path / "cv" / "batch_1", tmp_path / "cv" / "batch_3.zip"],
                              num_frames=4, height=32, kind="3d")
    assert inner.scene_names() == once.scene_names() and inner.clips == once.clips
