"""User images and the media fuzzer (``benchmarks/fuzz_targets_media.py``): the reconstruction frames' reader
scales high-bit-depth images and names the file it refuses, and a short fixed-seed fuzz run of the ``image`` and
``recon-image`` targets finds nothing."""

from __future__ import annotations


import numpy as np
import PIL.Image
import pytest

from genxd.reconstruction.views import load_image as load_recon_image
from genxd.utils.images import load_image
from tests.helpers import assert_fuzz_finds_nothing


def test_a_16_bit_frame_is_scaled_by_its_range_not_clipped(tmp_path):
    # Before: reconstruction.views.load_image converted I;16 to RGB by clipping at 255, so a 16-bit PNG
    # (values up to 65535) came out almost all white; generate's reader scales by 65535.
    path = tmp_path / "gray16.png"
    values = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16).repeat(2, axis=0)
    PIL.Image.fromarray(values).save(path)
    assert PIL.Image.open(path).mode.startswith("I;16")
    image = load_recon_image(path)
    assert image.shape == (3, 2, 4) and image.dtype.is_floating_point
    assert np.allclose(image[0, 0].numpy() * 255, [0, 64, 128, 255], atol=0.5)
    assert np.allclose(image.numpy(), load_image(path, 2, 4).numpy(), atol=1 / 255)


def test_a_float_frame_with_nan_pixels_is_refused_naming_it(tmp_path):
    # Before: PIL turned NaN into some value silently.
    path = tmp_path / "depthlike.tif"
    values = np.full((4, 4), 0.5, dtype=np.float32)
    values[1, 2] = np.nan
    PIL.Image.fromarray(values).save(path)
    with pytest.raises(ValueError, match="depthlike.tif.*non-finite"):
        load_recon_image(path)
    with pytest.raises(ValueError, match="depthlike.tif.*non-finite"):
        load_image(path, 4, 4)


@pytest.mark.parametrize("name", ["image", "recon-image"])
def test_a_short_fuzz_run_finds_nothing(name, tmp_path):
    assert_fuzz_finds_nothing(name, 40, tmp_path, timeout=20.0)
