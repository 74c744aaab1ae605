"""Frame folders and videos found by the media fuzzer (``benchmarks/fuzz_targets_media.py``): every frame file
is read as RGB or refused with a VideoReadError naming it, and a short fixed-seed fuzz run of the ``video`` and
``video-clip`` targets finds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from genxd.curation.frames import VideoReadError, read_frames
from tests.helpers import assert_fuzz_finds_nothing


def _frames(n: int, size: int = 32) -> np.ndarray:
    t = np.arange(n)[:, None, None, None]
    y, x = np.mgrid[0:size, 0:size][..., None]
    base = np.concatenate([x * 4 + 0 * y, y * 4 + 0 * x, (x + y) * 2], axis=-1)[None]
    return ((base + t * 9) % 256).astype(np.uint8)


def _folder(tmp_path: Path, images: list[PIL.Image.Image], suffix: str, **save) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, im in enumerate(images):
        im.save(folder / f"{i:04d}{suffix}", **save)
    return folder


def test_a_jpeg_frame_with_bytes_inserted_after_its_start_marker_is_read_or_named(tmp_path):
    # Fuzz case video-clip 2004: 15 bytes inserted after the JPEG's SOI marker. PIL cannot identify it; imageio's
    # fallback (PyAV's MJPEG decoder) read it as a stack of one frame [1, H, W, 3], which cv2.resize refused with
    # a bare cv2.error (a traceback for the user).
    folder = _folder(tmp_path, [PIL.Image.fromarray(f) for f in _frames(6)], ".jpg")
    bad = folder / "0005.jpg"
    data = bad.read_bytes()
    bad.write_bytes(data[:2] + b"\x14l\xef\xcb\xde\x11\x971;\xde\x9e\xf2\xf2\x9d\xb2" + data[2:])
    try:
        frames = read_frames(folder, 1, None, 24)
    except VideoReadError as exc:
        assert bad.name in str(exc)
    else:
        assert frames.dtype == np.uint8 and frames.shape == (6, 24, 24, 3)


def test_a_frame_file_holding_several_images_is_refused_naming_it(tmp_path, monkeypatch):
    # What a reader gives for a file of several images ([N, H, W, 3]) is not one frame: a named VideoReadError,
    # not a cv2 error or a 5-D result.
    import imageio.v3 as iio

    folder = _folder(tmp_path, [PIL.Image.fromarray(f) for f in _frames(2)], ".png")
    (folder / "0001.png").write_bytes(b"not an image")
    monkeypatch.setattr(iio, "imread", lambda *a, **k: np.zeros((3, 32, 32, 3), np.uint8))
    with pytest.raises(VideoReadError, match="0001.png"):
        read_frames(folder)


def test_a_folder_of_1_bit_frames_is_read_as_rgb(tmp_path):
    # Before: imageio gave bool arrays and _prepare failed with "ValueError: Invalid integer data type 'b'.",
    # naming no file.
    folder = _folder(tmp_path, [PIL.Image.fromarray(f).convert("1") for f in _frames(3)], ".png")
    frames = read_frames(folder)
    assert frames.shape == (3, 32, 32, 3) and frames.dtype == np.uint8
    assert set(np.unique(frames)) <= {0, 255} and len(np.unique(frames)) == 2


def test_a_folder_of_gray_alpha_frames_gives_three_channels(tmp_path):
    # Before: LA PNGs came back as [N, H, W, 2] (gray and alpha) and broke every stage after.
    folder = _folder(tmp_path, [PIL.Image.fromarray(f).convert("LA") for f in _frames(3)], ".png")
    frames = read_frames(folder)
    assert frames.shape == (3, 32, 32, 3)
    gray = np.asarray(PIL.Image.fromarray(_frames(3)[1]).convert("L"))
    assert np.array_equal(frames[1, ..., 0], gray) and np.array_equal(frames[1, ..., 2], gray)


def test_a_folder_of_cmyk_jpegs_keeps_its_colours(tmp_path):
    # Before: CMYK came back as 4 channels and the K channel was dropped as if it were alpha: inverted colours.
    rgb = np.zeros((3, 32, 32, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 50
    folder = _folder(tmp_path, [PIL.Image.fromarray(f).convert("CMYK") for f in rgb], ".jpg", quality=95)
    frames = read_frames(folder)
    assert frames.shape == (3, 32, 32, 3)
    assert np.abs(frames.astype(int) - rgb).max() <= 8


def test_a_folder_of_lzw_tiffs_is_read(tmp_path):
    # Before: imageio chose tifffile, which needs the imagecodecs package for LZW and refused every frame.
    folder = _folder(tmp_path, [PIL.Image.fromarray(f) for f in _frames(3)], ".tif", compression="tiff_lzw")
    frames = read_frames(folder)
    assert np.array_equal(frames, _frames(3))


def _zero_display_matrix(path: Path) -> None:
    """Zero the track header's display matrix of an mp4 (version-0 ``tkhd`` box, as ffmpeg writes it)."""
    data = bytearray(path.read_bytes())
    body = data.index(b"tkhd") + 4
    assert data[body] == 0  # version 0: 32-bit times
    matrix = body + 4 + 5 * 4 + 8 + 4 * 2
    assert data[matrix:matrix + 4] == (65536).to_bytes(4, "big")  # identity's first entry
    data[matrix:matrix + 36] = bytes(36)
    path.write_bytes(data)


def test_a_video_whose_display_matrix_is_all_zeros_is_not_turned(tmp_path):
    # A zeroed display matrix holds no rotation: FFmpeg's angle is NaN, which PyAV gave as -2**31 degrees, and
    # _upright turned every frame by 270 degrees (a 48x32 clip came back 32x48).
    from genxd.utils.video import write_mp4

    frames = np.zeros((4, 32, 48, 3), np.uint8)
    frames[:, :16] = 200  # top half bright: shows a turn
    path = write_mp4(tmp_path / "clip.mp4", frames, fps=8)
    _zero_display_matrix(path)
    out = read_frames(path)
    assert out.shape == (4, 32, 48, 3)
    assert out[0, :8].mean() > 150 and out[0, -8:].mean() < 50


def test_a_video_whose_codec_has_no_decoder_is_refused_not_crashed(tmp_path):
    # The sample entry's codec tag changed ('avc1' -> 'zzz1'): FFmpeg opens the file but has no decoder for it. PyAV
    # 17 (what pip installs on Python 3.10) crashed the process with a segmentation fault when asked to decode such a
    # stream (found by the fuzz run below on Python 3.10); PyAV 18 raised "[Errno 1128613112] Decoder not found".
    from genxd.cameras.clip_cameras import _read_clip
    from genxd.utils.video import write_mp4

    path = write_mp4(tmp_path / "clip.mp4", _frames(6), fps=8)
    data = path.read_bytes()
    assert data.count(b"avc1") >= 1
    path.write_bytes(data.replace(b"avc1", b"zzz1"))
    with pytest.raises(VideoReadError, match=r"clip\.mp4: cannot decode its video stream \(no decoder for its codec\)"):
        read_frames(path)
    with pytest.raises(VideoReadError, match="no decoder for its codec"):  # trajectory from-video's reader
        _read_clip(path, None, 4, 24)


@pytest.mark.parametrize("name", ["video", "video-clip"])
def test_a_short_fuzz_run_finds_nothing(name, tmp_path):
    assert_fuzz_finds_nothing(name, 40, tmp_path, timeout=20.0)
