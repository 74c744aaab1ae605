"""``genxd trajectory from-video FOLDER`` (and ``generate --camera-from-video``) on a folder copied by a Mac onto an
exFAT / FAT drive or a network share: macOS writes a hidden ``._NAME`` (AppleDouble) beside each file."""

from __future__ import annotations

from genxd.cameras.clip_cameras import _frames_source

APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


def test_a_folder_of_one_video_and_its_apple_double_is_that_video(tmp_path):
    """It was refused: '...: not a video file, a folder of frames or a camera file' (two 'videos', clip.mp4 and
    ._clip.mp4)."""
    (tmp_path / "clip.mp4").write_bytes(b"only the names are read here")
    (tmp_path / "._clip.mp4").write_bytes(APPLE_DOUBLE)
    assert _frames_source(tmp_path) == tmp_path / "clip.mp4"


def test_a_folder_of_hidden_images_only_is_no_frame_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "._00000.png").write_bytes(APPLE_DOUBLE)
    (tmp_path / "images" / ".DS_Store").write_bytes(b"Bud1")
    assert _frames_source(tmp_path) is None
    (tmp_path / "images" / "00000.png").write_bytes(b"")
    assert _frames_source(tmp_path) == tmp_path / "images"
