"""Frames of different sizes are refused naming the first frame whose size differs (a stray picture among a folder's
frames, a rotated photo, a video whose size changes midway), by ``genxd curate`` and ``genxd trajectory from-video``;
before, only the sizes were listed and the frame had to be found by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.curation.frames import read_frames
from genxd.curation.read_errors import MixedFrameSizesError


def _folder(root: Path) -> Path:
    from PIL import Image

    root.mkdir()
    for i in range(12):
        shape = (64, 48, 3) if i == 9 else (48, 64, 3)  # frame 9: a photo taken upright
        Image.fromarray(np.full(shape, 20 * i, np.uint8)).save(root / f"f{i}.png")
    return root


def test_a_folder_s_odd_frame_is_named(tmp_path):
    folder = _folder(tmp_path / "shots")
    with pytest.raises(MixedFrameSizesError) as caught:
        read_frames(folder, stride=3)  # frames 0, 3, 6, 9: the 4th read is f9.png
    assert caught.value.which == "f9.png is 48x64, f0.png is 64x48"
    assert "(f9.png is 48x64, f0.png is 64x48)" in str(caught.value)


def test_from_video_names_the_odd_frame(tmp_path):
    from genxd.cameras.from_video import FromVideoError, recover_clip_cameras

    folder = _folder(tmp_path / "shots")
    with pytest.raises(FromVideoError, match=r"frames have different sizes .* \(f9\.png is 48x64, f0\.png is 64x48\); "
                                             r"the frames of a clip must all have one size"):
        recover_clip_cameras(folder)


def test_a_video_whose_size_changes_midway_names_the_frame(tmp_path):
    import av

    parts = []
    for width, height in ((64, 48), (48, 64)):
        part = tmp_path / f"{width}x{height}.ts"
        with av.open(str(part), "w", format="mpegts") as container:
            stream = container.add_stream("mpeg2video", rate=8)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.gop_size, stream.codec_context.max_b_frames = 1, 0
            for i in range(6):
                image = np.full((height, width, 3), 30 * i, np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        parts.append(part.read_bytes())
    joined = tmp_path / "joined.ts"  # two recordings joined byte for byte (cat a.ts b.ts)
    joined.write_bytes(b"".join(parts))
    with pytest.raises(MixedFrameSizesError) as caught:
        read_frames(joined)
    which = caught.value.which
    assert which.startswith("frame ") and which.endswith(" is 48x64, frame 0 is 64x48"), which
    assert 3 <= int(which.split()[1]) <= 6, which  # where the second recording starts (give or take the join)
