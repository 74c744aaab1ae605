"""--fit crop of an image far from the output's aspect: a 1x500 strip fitted to a square kept its centre pixel,
blown up to the whole frame, with no word (noted by the session-52 review); now one warning names such inputs."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest

from genxd.utils.images import (CROP_WARNING_FRACTION, crop_kept_fraction, crop_warning, load_image_uint8,
                                load_image_uint8_sized)


def test_crop_kept_fraction_is_the_shorter_over_the_longer_side_for_a_square():
    assert crop_kept_fraction((1, 500), 64, 64) == pytest.approx(1 / 500)
    assert crop_kept_fraction((400, 100), 64, 64) == pytest.approx(0.25)
    assert crop_kept_fraction((300, 300), 64, 64) == 1.0
    assert crop_kept_fraction((200, 100), 32, 64) == 1.0  # the output's own aspect keeps it all


def test_sized_load_gives_the_photo_size_after_its_exif_orientation(tmp_path):
    path = tmp_path / "turned.jpg"
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: stored 120x40, shown 40x120
    PIL.Image.fromarray(np.full((40, 120, 3), 90, np.uint8)).save(path, exif=exif)
    pixels, size = load_image_uint8_sized(path, 16, 16)
    assert size == (40.0, 120.0)
    assert pixels.shape == (3, 16, 16) and pixels.equal(load_image_uint8(path, 16, 16))


def test_a_jpeg_decoded_at_a_reduced_scale_keeps_its_aspect(tmp_path):
    """Decoded at 1/8 of 2000x250 for a 16-pixel output: the size is of the decoded pixels, the aspect the photo's."""
    path = tmp_path / "wide.jpg"
    PIL.Image.fromarray(np.full((250, 2000, 3), 90, np.uint8)).save(path)
    _, (w, h) = load_image_uint8_sized(path, 16, 16)
    assert w < 2000 and w / h == pytest.approx(8.0)


def test_the_warning_names_the_inputs_and_the_other_fit():
    one = crop_warning([(0, (1.0, 500.0))], ["a/thin.png"])
    assert "thin.png (1x500)" in one and "0.2% of the image" in one and "pad" in one
    many = crop_warning([(i, (100.0 * (i + 5), 100.0)) for i in range(5)], [f"p{i}.png" for i in range(5)])
    assert "p0.png (500x100), p1.png (600x100), p2.png (700x100) and 2 more" in many
    assert "as little as 11.1% of an image" in many


def test_generate_warns_once_of_inputs_crop_keeps_little_of(tmp_path, monkeypatch):
    import genxd.api as api
    from genxd.validation import GenXDWarning

    for name, size in (("thin.png", (1, 500)), ("wide.png", (300, 60)), ("photo.png", (160, 90))):
        PIL.Image.new("RGB", size, (200, 10, 10)).save(tmp_path / name)
    monkeypatch.setattr(api, "load_model", lambda *args, **kwargs: 1 / 0)  # stops the job after reading

    with pytest.warns(GenXDWarning) as caught, pytest.raises(ZeroDivisionError):
        api.generate_scenes(sorted(tmp_path.glob("*.png")), tmp_path / "out", progress=False)
    crops = [str(w.message) for w in caught if "crop keeps" in str(w.message)]
    assert len(crops) == 1 and "thin.png (1x500), wide.png (300x60)" in crops[0] and "photo.png" not in crops[0]
    assert 1 / 500 < CROP_WARNING_FRACTION < 90 / 160

    import warnings

    with warnings.catch_warnings(record=True) as padded, pytest.raises(ZeroDivisionError):
        warnings.simplefilter("always")
        api.generate_scenes(sorted(tmp_path.glob("*.png")), tmp_path / "out2", progress=False, fit="pad")
    assert not any("crop keeps" in str(w.message) for w in padded)
