"""Float and high-bit-depth images mean the same to every reader (docs/conventions.md): a float TIFF whose values
run to 255 was white in ``genxd curate`` (floats were taken as [0, 1] there) and 8-bit levels in ``generate``."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest

from genxd.curation.frames import read_frames
from genxd.utils.images import read_rgb
from genxd.utils.pixel_range import to_uint8_by_range


@pytest.mark.parametrize("peak, expected", [(1.0, 128), (255.0, 128), (65535.0, 128), (1e6, 128)])
def test_a_float_frame_reads_the_same_for_curate_and_generate(tmp_path, peak, expected):
    values = np.full((16, 16), peak * 128 / 255, np.float32)
    values[0, 0] = peak  # the range's top
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        PIL.Image.fromarray(values, mode="F").save(folder / f"{i}.tif")
    curated = read_frames(folder)[0]
    generated = np.asarray(read_rgb(folder / "0.tif"))
    assert curated.shape == generated.shape == (16, 16, 3)
    assert np.array_equal(curated, generated)
    assert abs(int(curated[8, 8, 0]) - expected) <= 1 and curated[0, 0, 0] == 255


def test_the_range_rule():
    assert to_uint8_by_range(np.array([0.0, 0.5, 1.0]), is_float=True).tolist() == [0, 128, 255]
    assert to_uint8_by_range(np.array([0, 1]), is_float=False).tolist() == [0, 1]  # integers: 8-bit levels
    assert to_uint8_by_range(np.array([0, 255]), is_float=False, sixteen_bit=True).tolist() == [0, 1]
    assert to_uint8_by_range(np.array([0, 65535]), is_float=False).tolist() == [0, 255]
    assert to_uint8_by_range(np.array([0.0, 2e5]), is_float=True).tolist() == [0, 255]
