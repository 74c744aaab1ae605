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
