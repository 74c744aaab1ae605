"""genxd.cameras.clip_frames: which frames of a clip from-video reads.

Before: ``--stride`` stopped at ``--max-frames`` frames without a word: every 2nd frame of a 12-frame clip with
``--max-frames 4`` read frames 0-6, the path followed the first 58 % of the clip, and the summary line said
'from 4 of 4 clip frames'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genxd.cameras.from_video import recover_clip_cameras


def _still_clip(folder: Path, n: int) -> Path:
    """``n`` copies of one textured frame (a still camera: no SfM needed)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    frame = (rng.random((8, 8, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    for i in range(n):
        Image.fromarray(frame).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("stride, cut", [(2, True), (3, False), (None, False)])
def test_a_stride_that_stops_before_the_clip_ends_is_said(tmp_path, stride, cut):
    clip = _still_clip(tmp_path / "clip", 12)
    cams = recover_clip_cameras(clip, source="sfm", focal=1.0, mask=False, stride=stride, max_frames=4,
                                num_threads=1)
    said = [w for w in cams.report["warnings"] if "stride" in w]
    if cut:  # frames 0, 2, 4, 6 of 12; every 3rd (0, 3, 6, 9) reaches the end
        assert said == ["stride=2 with max_frames=4 reads frames 0-6 of the clip's 12: the path follows the first "
                        "58 % of it (raise max_frames, or leave out stride to spread the frames over the whole clip)"]
    else:
        assert said == []


def test_the_summary_line_says_the_frames_read_and_the_clips_length(tmp_path):
    """The line said 'from 4 of 4 clip frames' for 4 frames read of a 12-frame clip, as for a 4-frame clip: it
    counted the frames read, not the clip's length."""
    from genxd.cameras.from_video import make_video_path, path_summary

    clip = _still_clip(tmp_path / "clip", 12)
    cams = recover_clip_cameras(clip, source="sfm", focal=1.0, mask=False, max_frames=4, num_threads=1)
    line = path_summary(make_video_path(cams, 4).report)
    assert line.startswith("4 cameras from 4 of 4 frames read of the clip's 12 (static); "), line
