"""Videos as users bring them: frame folders numbered without zero padding, files with several video streams,
containers of every common kind, files cut short, non-square pixels and variable frame rates (the video input
audit). Every video is written here, 32-64 px and a few frames."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import PIL.Image
import pytest

from genxd.curation import read_frames
from genxd.curation.frames import count_frames


def _numbered_frames(n: int, h: int = 32, w: int = 32) -> np.ndarray:
    """``[n, h, w, 3]``: frame i is flat grey 10 * i + 5 (tells the frames apart through lossy codecs)."""
    return np.repeat((10 * np.arange(n) + 5).astype(np.uint8), h * w * 3).reshape(n, h, w, 3)


def _frame_numbers(frames: np.ndarray) -> list[int]:
    return [int(round((float(f.mean()) - 5) / 10)) for f in frames]


@pytest.mark.parametrize("pattern", ["frame_{}.png", "frame_{:03d}.png", "{}.png"])
def test_a_frame_folder_is_read_in_number_order_padded_or_not(tmp_path, pattern):
    frames = _numbered_frames(12, 8, 8)
    for i, frame in enumerate(frames):
        PIL.Image.fromarray(frame).save(tmp_path / pattern.format(i + 1))
    assert _frame_numbers(read_frames(tmp_path)) == list(range(12))
    assert count_frames(tmp_path) == 12


def test_natural_key_orders_digit_runs_as_numbers():
    from genxd.curation.frames import natural_key

    names = ["b10.png", "a2_10.png", "b9.png", "a2_9.png", "b09.png", "a10.png"]
    assert sorted(names, key=natural_key) == ["a2_9.png", "a2_10.png", "a10.png", "b09.png", "b9.png", "b10.png"]
