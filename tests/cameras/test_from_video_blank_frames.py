"""A clip with blank (one-colour) frames in its middle, where SfM fails: the error names them. Before it said only
SfM's 'too little camera motion or texture', which sent the user looking at the camera's motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genxd.cameras import clip_cameras
from genxd.cameras.clip_frames import blank_frames
from genxd.cameras.from_video import FromVideoError, recover_clip_cameras


def _clip(folder: Path, blank: set[int], n: int = 12) -> Path:
    """``n`` frames of unrelated texture (no camera explains them), those in ``blank`` black."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        frame = np.zeros((64, 64, 3), np.uint8) if i in blank else \
            (rng.random((16, 16, 3)) * 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
        Image.fromarray(frame).save(folder / f"{i:03d}.png")
    return folder


def test_blank_frames_are_named_when_sfm_fails(tmp_path: Path, monkeypatch):
    from genxd.curation.sfm import SfmError

    def sfm_fails(*args, **kwargs):  # what SfM says on such a clip (its run is not what is tested)
        raise SfmError("SfM (klt) found no initial image pair (too little camera motion or texture)")

    monkeypatch.setattr(clip_cameras, "reconstruct_clip", sfm_fails)
    clip = _clip(tmp_path / "clip", {4, 5, 6, 7, 9})
    with pytest.raises(FromVideoError) as caught:
        recover_clip_cameras(clip, source="sfm", focal=1.0, mask=False, num_threads=1)
    assert "; 5 of the 12 frames read are blank (one colour: nothing for SfM to match): clip frames 4-7, 9" \
        in str(caught.value), caught.value

    plain = _clip(tmp_path / "plain", set())
    with pytest.raises(FromVideoError) as caught:  # none blank: none named
        recover_clip_cameras(plain, source="sfm", focal=1.0, mask=False, num_threads=1)
    assert "frames read are blank" not in str(caught.value), caught.value


def test_a_dark_textured_or_noisy_frame_is_not_blank():
    rng = np.random.default_rng(1)
    frames = np.stack([np.full((32, 32, 3), 16, np.uint8),  # video black
                       np.full((32, 32, 3), 200, np.uint8),  # one colour, bright
                       (16 + rng.integers(0, 2, (32, 32, 3))).astype(np.uint8),  # black with coding noise
                       (rng.random((32, 32, 3)) * 40).astype(np.uint8),  # dark, textured
                       np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 1, 3))])  # a ramp
    assert blank_frames(frames).tolist() == [0, 1, 2]
