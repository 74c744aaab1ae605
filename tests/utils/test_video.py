"""mp4 writing and reading: imageio-ffmpeg when installed, OpenCV's writer otherwise; atomic either way."""

from __future__ import annotations

import numpy as np
import pytest

from genxd.utils import video


def _frames() -> np.ndarray:
    t = np.linspace(0, 1, 6)[:, None, None, None]
    x = np.linspace(0, 1, 32)[None, None, :, None]
    return (np.clip(0.2 + 0.6 * np.sin(3 * x + 2 * t) ** 2 + np.zeros((6, 24, 32, 3)), 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_write_then_read_roundtrip(tmp_path, monkeypatch, backend):
    if backend == "opencv":
        pytest.importorskip("cv2")
        monkeypatch.setattr(video, "_has_imageio_ffmpeg", lambda: False)
    elif not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    frames = _frames()
    path = video.write_mp4(tmp_path / "clip.mp4", frames, fps=4)
    back = video.read_mp4(path)
    assert back.shape == frames.shape
    assert np.abs(back.astype(float) - frames).mean() < 6  # lossy codecs, smooth content
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary left behind


def test_bad_frames_are_refused(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        video.write_mp4(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3), np.float32))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_a_cut_short_video_is_refused_and_nothing_is_left(tmp_path, monkeypatch, backend):
    """Neither writer reports ffmpeg's failure (a disk filled up mid-write: found on a 40 kB tmpfs, where
    ``genxd synth --format video`` and ``genxd generate`` renamed a truncated mp4 into place): every written
    file is checked box by box, and a cut-short one raises (ENOSPC when the disk is full) with nothing left."""
    import errno
    import shutil
    from collections import namedtuple

    if backend == "opencv":
        pytest.importorskip("cv2")
        monkeypatch.setattr(video, "_has_imageio_ffmpeg", lambda: False)
    elif not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    whole = video.write_mp4(tmp_path / "whole.mp4", _frames(), fps=4)
    video.check_mp4_complete(whole)  # a whole file passes
    data = whole.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 40):
        part = tmp_path / "part.mp4"
        part.write_bytes(data[:cut])
        with pytest.raises(OSError) as err:
            video.check_mp4_complete(part, "x.mp4")
        assert err.value.errno == errno.EIO and "x.mp4" in str(err.value)
    part.write_bytes(b"not a video at all")
    with pytest.raises(OSError):
        video.check_mp4_complete(part)
    part.unlink()

    # the writer's output cut short as a full disk does, then the disk reported full
    real_check = video.check_mp4_complete

    def truncate_then_check(path, name=None):
        with open(path, "r+b") as f:
            f.truncate(f.seek(0, 2) // 2)
        return real_check(path, name)

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(video, "check_mp4_complete", truncate_then_check)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(1 << 30, 1 << 30, 0))
    with pytest.raises(OSError) as err:
        video.write_mp4(tmp_path / "clip.mp4", _frames(), fps=4)
    assert err.value.errno == errno.ENOSPC and "clip.mp4" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whole.mp4"]
