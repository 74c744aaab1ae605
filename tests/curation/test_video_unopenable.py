"""A video file that cannot be opened says why in plain words where FFmpeg's do not: an empty file, an MP4 / MOV
cut short before its index of frames (the ``moov`` box written when a recording ends); other files keep FFmpeg's
words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.curation.frames import read_frames
from genxd.curation.read_errors import VideoReadError


def _write_mp4(path: Path, faststart: bool = False, frames: int = 12) -> Path:
    import av

    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), 10 * i % 256, np.uint8)
            for packet in stream.encode(__import__("av").VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _cut(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[:int(len(data) * fraction)])
    return cut


def test_an_empty_file_is_said_to_be_empty(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(VideoReadError, match=r"^clip\.mp4: cannot open as a video \(the file is empty: 0 bytes\)$"):
        read_frames(tmp_path / "clip.mp4")  # was "(Invalid data found when processing input)"


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.03])
def test_an_mp4_cut_before_its_index_is_said_to_be_cut_short(tmp_path, fraction):
    whole = _write_mp4(tmp_path / "clip.mov")  # the index written last, as cameras and ffmpeg do
    assert len(read_frames(whole)) == 12
    with pytest.raises(VideoReadError, match=r"^cut_clip\.mov: cannot open as a video: the file is cut short before "
                                             r"its index of frames \(the 'moov' box"):
        read_frames(_cut(whole, fraction))  # was "(Invalid data found when processing input)"


def test_other_files_that_cannot_be_opened_keep_ffmpegs_words(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "noise.mp4").write_bytes(rng.integers(0, 255, 4000, dtype=np.uint8).tobytes())
    whole = _write_mp4(tmp_path / "clip.mp4")
    damaged = bytearray(whole.read_bytes())
    at = damaged.find(b"moov")
    damaged[at:at + 4] = b"xxxx"  # whole, its index box unreadable: not cut short
    (tmp_path / "renamed.mp4").write_bytes(bytes(damaged))
    for name in ("noise.mp4", "renamed.mp4"):
        with pytest.raises(VideoReadError) as caught:
            read_frames(tmp_path / name)
        assert str(caught.value).startswith(f"{name}: cannot open as a video ("), caught.value
        assert "cut short" not in str(caught.value) and "empty" not in str(caught.value)


def test_an_mp4_with_its_index_first_cut_short_keeps_its_frames(tmp_path):
    cut = _cut(_write_mp4(tmp_path / "clip.mp4", faststart=True, frames=24), 0.6)
    with pytest.warns(UserWarning, match="cut short|damaged data"):
        got = read_frames(cut)
    assert 0 < len(got) < 24
