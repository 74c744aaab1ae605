"""``genxd trajectory from-video FRAMES -o FRAMES/path.json``: the path's picture (``path.png``) is not written among
the frames it was made from. Before, it was, and the next read of the folder took it for a frame: ``frames have
different sizes`` (or, at the frames' own size, a frame that is no part of the clip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.cameras import from_video
from genxd.cameras.from_video import write_video_path


def _frames(folder: Path, count: int = 6) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((32, 48, 3), 30 * i, np.uint8)).save(folder / f"{i:04d}.png")
    return folder


class _Recovered(Exception):
    """Raised in place of the clip's SfM: the output was accepted."""


def _no_sfm(monkeypatch) -> None:
    def recover(*args, **kwargs):
        raise _Recovered

    monkeypatch.setattr(from_video, "recover_clip_cameras", recover)


@pytest.mark.parametrize("through_link", [False, True])
def test_an_output_inside_the_frame_folder_is_refused_before_any_work(tmp_path, monkeypatch, through_link):
    _no_sfm(monkeypatch)
    frames = _frames(tmp_path / "shots")
    clip = frames
    if through_link:
        clip = tmp_path / "link"
        clip.symlink_to(frames, target_is_directory=True)
    before = sorted(p.name for p in frames.iterdir())
    with pytest.raises(ValueError, match=r"path\.png would be written among the frames of .* and read as one of them "
                                         r"next time; give an output outside the frame folder"):
        write_video_path(clip, frames / "path.json", 4)  # was: SfM, then path.png among the frames
    assert sorted(p.name for p in frames.iterdir()) == before


def test_outputs_beside_or_below_the_frames_are_taken(tmp_path, monkeypatch):
    _no_sfm(monkeypatch)
    frames = _frames(tmp_path / "shots")
    for out in (tmp_path / "path.json", frames / "paths" / "path.json"):
        with pytest.raises(_Recovered):
            write_video_path(frames, out, 4)
    (tmp_path / "clip.mp4").write_bytes(b"")  # a video file: its folder holds no frames read
    with pytest.raises(_Recovered):
        write_video_path(tmp_path / "clip.mp4", tmp_path / "clip_path.json", 4)
