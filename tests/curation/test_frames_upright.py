"""Frames come out as they are meant to be shown (phone videos and photos are stored sideways with a rotation
tag), and frames picked by index are the ones asked for."""

from __future__ import annotations

import subprocess

import numpy as np
import PIL.Image
import pytest

from genxd.curation import read_frames
from genxd.curation.frames import count_frames


def _landscape_frames(n: int = 5) -> np.ndarray:
    """``[n, 32, 64, 3]``, a white square in the top-left corner, frame i's red channel 25 * i elsewhere."""
    frames = np.zeros((n, 32, 64, 3), np.uint8)
    frames[..., 0] = (25 * np.arange(n, dtype=np.uint8))[:, None, None]
    frames[:, :8, :8] = 255
    return frames


def _write_h264(path, frames: np.ndarray) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _with_display_rotation(src, dst, degrees: int) -> None:
    """``src`` remuxed with a display matrix (what phones write), by the ffmpeg that imageio-ffmpeg ships."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation",
                          str(degrees), "-i", str(src), "-c", "copy", str(dst)], capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f"this ffmpeg cannot write a display rotation: {run.stderr.strip()[:200]}")


def _corner(frame: np.ndarray) -> tuple[int, int]:
    """Which corner the white square is in: (row 0/1, column 0/1)."""
    rows, cols = np.nonzero(frame.min(axis=-1) > 200)
    h, w = frame.shape[:2]
    return int(rows.mean() > h / 2), int(cols.mean() > w / 2)


@pytest.mark.parametrize("degrees, shape, corner", [
    (90, (64, 32), (1, 0)),    # turned counter-clockwise for display: the top-left corner goes to the bottom-left
    (-90, (64, 32), (0, 1)),   # clockwise: to the top-right
    (180, (32, 64), (1, 1)),
])
def test_a_video_with_a_display_rotation_is_read_upright(tmp_path, degrees, shape, corner):
    frames = _landscape_frames()
    _write_h264(tmp_path / "stored.mp4", frames)
    _with_display_rotation(tmp_path / "stored.mp4", tmp_path / "phone.mp4", degrees)
    stored, shown = read_frames(tmp_path / "stored.mp4"), read_frames(tmp_path / "phone.mp4")
    assert stored.shape[1:3] == (32, 64) and _corner(stored[0]) == (0, 0)
    assert shown.shape == (5, *shape, 3)
    assert _corner(shown[0]) == corner
    # the same pixels, turned the way ffmpeg turns them for display (np.rot90: counter-clockwise)
    np.testing.assert_array_equal(shown, np.rot90(stored, (degrees // 90) % 4, axes=(1, 2)))


def _dihedral(frames: np.ndarray) -> dict[str, np.ndarray]:
    """The 8 ways to turn and flip ``[N, H, W, 3]`` frames, by name."""
    out = {}
    for k in range(4):
        turned = np.rot90(frames, k, axes=(1, 2))
        out[f"rot{90 * k}"], out[f"rot{90 * k}+hflip"] = turned, turned[:, :, ::-1]
    return out


def _ffmpeg_first_frame(ffmpeg: str, video, png) -> np.ndarray:
    """The first frame as ffmpeg itself shows it (its autorotation on, the default)."""
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(video), "-frames:v", "1", str(png)], check=True)
    return np.asarray(PIL.Image.open(png).convert("RGB"))


@pytest.mark.parametrize("options", [
    ["-display_hflip"],  # a front camera's mirror: FFmpeg reads its angle as 180 (it came out upside down)
    ["-display_vflip"],  # angle 0, flipped top to bottom (read as not turned at all)
    ["-display_rotation", "90", "-display_hflip"],
    ["-display_rotation", "-90", "-display_hflip"],
    ["-display_rotation", "180", "-display_hflip"],
    ["-display_rotation", "90", "-display_vflip"],
    ["-display_rotation", "180"],
])
def test_a_mirrored_display_matrix_is_shown_as_ffmpeg_shows_it(tmp_path, options):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    frames = _landscape_frames()
    _write_h264(tmp_path / "stored.mp4", frames)
    run = subprocess.run([ffmpeg, "-y", "-loglevel", "error", *options, "-i", str(tmp_path / "stored.mp4"), "-c",
                          "copy", str(tmp_path / "phone.mp4")], capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f"this ffmpeg cannot write a mirrored display matrix: {run.stderr.strip()[:200]}")
    reference = _ffmpeg_first_frame(ffmpeg, tmp_path / "phone.mp4", tmp_path / "ffmpeg.png")
    stored, shown = read_frames(tmp_path / "stored.mp4"), read_frames(tmp_path / "phone.mp4")
    # the same pixels, turned and flipped one of the 8 ways...
    matches = [name for name, turned in _dihedral(stored).items() if turned.shape == shown.shape
               and np.array_equal(turned, shown)]
    assert matches, "not a turn or flip of the stored frames"
    # ... the way ffmpeg shows them: a non-square frame's shape and the corner of its one white square tell the 8
    # apart (ffmpeg converts the colours its own way, so the pixels themselves differ by a few levels)
    assert shown.shape[1:] == reference.shape and _corner(shown[0]) == _corner(reference), (matches, options)


def test_a_frame_file_with_an_exif_orientation_is_read_upright(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = _landscape_frames(2)
    for i, frame in enumerate(frames):
        image = PIL.Image.fromarray(frame)
        exif = image.getexif()
        exif[0x0112] = 6  # Orientation 6: shown turned 90 degrees clockwise
        image.save(folder / f"{i:03d}.png" if i else folder / f"{i:03d}.jpg", exif=exif, quality=95)
    shown = read_frames(folder)
    assert shown.shape == (2, 64, 32, 3)
    assert _corner(shown[0]) == (0, 1) and _corner(shown[1]) == (0, 1)


def test_frames_picked_by_index_are_the_ones_asked_for(tmp_path):
    frames = _landscape_frames(10)
    _write_h264(tmp_path / "clip.mp4", frames)
    assert count_frames(tmp_path / "clip.mp4") == 10
    picked = read_frames(tmp_path / "clip.mp4", indices=[0, 4, 9, 12])  # 12: past the end, left out
    assert len(picked) == 3
    red = [round(float(np.median(f[16:, 16:, 0])) / 25) for f in picked]
    assert red == [0, 4, 9]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames[:4]):
        PIL.Image.fromarray(frame).save(folder / f"{i:03d}.png")
    assert count_frames(folder) == 4
    assert [round(float(np.median(f[16:, 16:, 0])) / 25) for f in read_frames(folder, indices=[1, 3])] == [1, 3]
