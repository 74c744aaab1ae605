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


def _peak_bytes(fn, *args, **kwargs) -> tuple[object, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_16_bit_image_is_scaled_in_bands(monkeypatch):
    """A 24-megapixel 16-bit photo was scaled as one float64 array (with its temporaries about 2 GB; 7 GB at 80
    megapixels): now band by band, the same values, with little beyond the input and the 8-bit result."""
    import genxd.utils.pixel_range as pixel_range

    rng = np.random.default_rng(0)
    deep = rng.integers(0, 65536, size=(301, 400, 3), dtype=np.uint16)
    whole = np.clip(np.rint(deep.astype(np.float64) * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
    monkeypatch.setattr(pixel_range, "_BAND_VALUES", 10_000, raising=False)  # several bands and a shorter last one
    out, peak = _peak_bytes(to_uint8_by_range, deep, is_float=False, sixteen_bit=True)
    assert np.array_equal(out, whole)
    assert peak < deep.size * 2  # the result (1 byte a value) and a band; float64 whole: 8 bytes a value and more


def test_a_16_bit_gray_file_is_not_copied_to_float64(tmp_path, monkeypatch):
    """``read_rgb`` of a 16-bit gray PNG held the pixels as float64 (8 bytes a pixel) before scaling them."""
    import genxd.utils.pixel_range as pixel_range

    deep = (np.arange(1000 * 1200, dtype=np.uint32).reshape(1000, 1200) % 65536).astype(np.uint16)
    path = tmp_path / "deep.png"
    PIL.Image.fromarray(deep).save(path)
    monkeypatch.setattr(pixel_range, "_BAND_VALUES", 1 << 16, raising=False)
    rgb, peak = _peak_bytes(read_rgb, path)
    expected = np.clip(np.rint(deep * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(rgb)[..., 0], expected)
    assert peak < deep.size * 5  # a copy in uint16, the 8-bit result and a band (was over 16 bytes a pixel)
