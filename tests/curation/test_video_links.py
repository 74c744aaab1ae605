"""Searching a folder for videos follows its links to folders (a ``videos/`` folder of links to other drives), once
each, and never into the dataset being written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genxd.curation.frames import discover_videos

pytestmark = pytest.mark.skipif(os.name == "nt", reason="folder links need privileges on Windows")


def _touch_video(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # discovery goes by name: the read says whether it is a video


def _frames(folder: Path, count: int = 3) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i:05d}.png")


def _found(root: Path, skip: Path | None = None) -> dict[str, str]:
    return {s.video_id: s.path.relative_to(root).as_posix() for s in discover_videos(root, skip=skip)}


def test_a_linked_folder_of_videos_is_searched(tmp_path):
    elsewhere = tmp_path / "drive"
    _touch_video(elsewhere / "a.mp4")
    _touch_video(elsewhere / "day2" / "b.mov")
    root = tmp_path / "videos"
    _touch_video(root / "own.mp4")
    (root / "trip").symlink_to(elsewhere, target_is_directory=True)
    # was {'own'}: the linked folder's videos were left out without a word
    assert _found(root) == {"own": "own.mp4", "trip__a": "trip/a.mp4", "trip__day2__b": "trip/day2/b.mov"}


def test_links_are_followed_once_and_never_in_a_loop(tmp_path):
    elsewhere = tmp_path / "drive"
    _touch_video(elsewhere / "a.mp4")
    (elsewhere / "again").symlink_to(elsewhere, target_is_directory=True)  # a loop
    root = tmp_path / "videos"
    _touch_video(root / "sub" / "c.mp4")
    (root / "trip").symlink_to(elsewhere, target_is_directory=True)
    (root / "trip2").symlink_to(elsewhere, target_is_directory=True)  # the same folder twice
    (root / "inner").symlink_to(root / "sub", target_is_directory=True)  # a folder searched anyway
    assert _found(root) == {"sub__c": "sub/c.mp4", "trip__a": "trip/a.mp4"}


def test_a_linked_folder_of_frames_is_one_video_as_before(tmp_path):
    _frames(tmp_path / "shots" / "take1")
    root = tmp_path / "videos"
    root.mkdir()
    (root / "take1").symlink_to(tmp_path / "shots" / "take1", target_is_directory=True)
    assert _found(root) == {"take1": "take1"}


def test_the_output_dataset_is_not_searched_through_a_link(tmp_path):
    elsewhere = tmp_path / "drive"
    _touch_video(elsewhere / "a.mp4")
    out = elsewhere / "curated"
    _frames(out / "a" / "images")  # what curate wrote there
    root = tmp_path / "videos"
    root.mkdir()
    (root / "trip").symlink_to(elsewhere, target_is_directory=True)
    assert _found(root, skip=out) == {"trip__a": "trip/a.mp4"}
