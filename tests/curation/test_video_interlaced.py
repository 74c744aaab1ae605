"""Interlaced video (camcorder footage: two fields woven into each frame) is read as stored, with one warning per
video that says so and where the command that deinterlaces it is (docs/curation.md); before, nothing was said. Each
clip is written here with PyAV (MPEG-2, interlaced coding or not), 64x48, 6 frames."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from genxd.curation import read_frames
from genxd.validation import GenXDWarning

av = pytest.importorskip("av")


def _write(path: Path, interlaced: bool) -> Path:
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()  # a converter of its own (see tests/curation/test_video_hdr.py)
    options = {"flags": "+ildct+ilme"} if interlaced else {}
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg2video", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), format="rgb24")
            for packet in stream.encode(reformatter.reformat(frame, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _said(path: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(read_frames(path)) == 6
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def test_an_interlaced_clip_is_warned_about_once(tmp_path):
    said = _said(_write(tmp_path / "cam.mts", interlaced=True))
    assert len(said) == 1, said  # was []
    assert said[0].startswith("cam.mts is interlaced video: its frames are read as stored, two fields woven together")
    assert "docs/curation.md, 'Interlaced video'" in said[0]


def test_a_progressive_clip_is_not_warned_about(tmp_path):
    assert _said(_write(tmp_path / "cam.mts", interlaced=False)) == []
