"""User images and the media fuzzer (``benchmarks/fuzz_targets_media.py``): the reconstruction frames' reader
scales high-bit-depth images and names the file it refuses, and a short fixed-seed fuzz run of the ``image`` and
``recon-image`` targets finds nothing."""

from __future__ import annotations

import sys

import numpy as np
import PIL.Image
import pytest

from genxd.reconstruction.views import load_image as load_recon_image
from genxd.utils.images import load_image
from tests.helpers import ROOT, load_script


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


@pytest.fixture(scope="module")
def fuzz():
    runner = load_script("benchmarks/fuzz_inputs.py")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fuzz_targets_media

    return runner, fuzz_targets_media


@pytest.mark.parametrize("name", ["image", "recon-image"])
def test_a_short_fuzz_run_finds_nothing(fuzz, name, tmp_path):
    runner, media = fuzz
    target = next(t for t in media.TARGETS if t.name == name)
    result = runner.run_target("fuzz_targets_media", target, cases=list(range(40)), seed=0, timeout=20.0,
                               keep=tmp_path / "keep", work=tmp_path / "work", time_limit=None)
    assert result["cases"] == 40
    bad = {k: v for k, v in result["counts"].items() if k in runner.BAD_OUTCOMES and v}
    assert not bad, result["findings"]
