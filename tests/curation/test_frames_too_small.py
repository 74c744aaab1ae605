"""Frames too small for SfM (a side under MIN_FRAME_SIDE px) are refused up front, by ``genxd curate`` and ``genxd
trajectory from-video``, saying so: 2 px high clips went through masks and SfM and failed as "too little camera motion
or texture"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.curation.read_errors import MIN_FRAME_SIDE, FramesTooSmallError, check_frame_size


def _folder(root: Path, height: int, width: int) -> Path:
    from PIL import Image

    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(root / f"{i:03d}.png")
    return root


def test_curate_refuses_frames_two_pixels_high(tmp_path):
    from genxd.curation import CurationConfig, curate_video
    from genxd.curation.frames import VideoSource

    folder = _folder(tmp_path / "strip", 2, 64)
    record = curate_video(VideoSource("strip", folder, "frames"), tmp_path / "out", CurationConfig(min_frames=3))
    assert record["status"] == "failed" and record["stage"] == "frames", record
    assert record["reason"] == (f"strip: frames are 64x2: too small for structure from motion (each side needs at "
                                f"least {MIN_FRAME_SIDE} px)")


def test_from_video_refuses_frames_two_pixels_high(tmp_path):
    from genxd.cameras.from_video import FromVideoError, recover_clip_cameras

    folder = _folder(tmp_path / "strip", 2, 64)
    with pytest.raises(FromVideoError, match=rf"^{folder}: frames are 64x2: too small for structure from motion "
                                             rf"\(each side needs at least {MIN_FRAME_SIDE} px\)$"):
        recover_clip_cameras(folder)


def test_the_size_check_names_the_resize_that_made_the_frames_small():
    check_frame_size("a.mp4", MIN_FRAME_SIDE, 9)  # at the minimum: taken
    with pytest.raises(FramesTooSmallError, match=r"^a\.mp4: frames are 320x4 \(read with (--)?resize 320\): too "):
        check_frame_size("a.mp4", 4, 320, 320)
    with pytest.raises(FramesTooSmallError, match=r"^a\.mp4: frames are 64x2 \(read with (--)?resize 64x2\): too "):
        check_frame_size("a.mp4", 2, 64, (64, 2))
    with pytest.raises(FramesTooSmallError, match=r"^a\.mp4: frames are 64x2: too small"):  # already that small
        check_frame_size("a.mp4", 2, 64, 256)
