"""``genxd.utils.png16`` for TIFFs: a 16-bit RGB or RGBA TIFF (interleaved samples: OpenCV's, Lightroom's, a
scanner's export) is read at its full depth and rounded to the nearest 8-bit level, as a 16-bit PNG is, by
``generate``'s reader (``read_rgb``, ``decode_rgb``) and ``curate``'s frame folders alike. Pillow alone kept the high
byte (rounded down, up to one level off). The cases a TIFF shares with a PNG are tested with it (``test_png16``)."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest

from genxd.utils.images import read_rgb
from genxd.utils.png16 import deep_colour_kind
from tests.helpers import tiff16
from tests.utils.test_png16 import between_levels, nearest


def test_a_16_bit_rgba_tiffs_alpha_is_composited(tmp_path):
    pixels = np.dstack([between_levels((4, 6, 3)), np.full((4, 6), 65535, np.uint16)])
    pixels[0, 0, 3] = 0  # transparent: the white background
    want = nearest(pixels[..., :3])
    want[0, 0] = 255
    assert np.array_equal(np.asarray(read_rgb(tiff16(tmp_path / "a.tif", pixels))), want)


def test_a_16_bit_tiff_of_premultiplied_alpha_is_rounded_and_divided_out(tmp_path):
    # Before: Pillow's RGBa;16 decoder divided the high byte of the colour by the high byte of the alpha: one level
    # below the nearest on every opaque pixel here, up to 2.8 levels off where translucent (1.4 for straight alpha)
    tifffile = pytest.importorskip("tifffile")
    colour = between_levels((6, 8, 3))
    alpha = np.full((6, 8, 1), 65535, np.uint16)
    alpha[3:] = np.random.default_rng(1).integers(0x0400, 0xFFFF, (3, 8, 1))  # translucent rows
    alpha[0, 0] = 0  # transparent: the white background
    premultiplied = np.rint(colour * (alpha / 65535.0)).astype(np.uint16)
    path = tmp_path / "assoc.tif"
    tifffile.imwrite(path, np.dstack([premultiplied, alpha]), photometric="rgb", extrasamples=[1])  # associated
    got = np.asarray(read_rgb(path)).astype(np.float64)
    assert np.array_equal(got[:3, 1:], nearest(colour[:3, 1:]))  # opaque: the nearest level
    assert (got[0, 0] == 255).all()
    a = alpha[3:] / 65535.0
    exact = (colour[3:] / 257.0) * a + 255.0 * (1 - a)  # on white
    assert np.abs(got[3:] - exact).max() <= 1.5  # the straight colour's rounding, then composited in 8 bits
    straight = tiff16(tmp_path / "straight.tif", np.dstack([colour, alpha]))  # the same picture, unassociated
    assert np.abs(got - np.asarray(read_rgb(straight))).max() <= 1
    with PIL.Image.open(path) as im:
        assert deep_colour_kind(im) == "RGBa"


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_an_uncompressed_16_bit_tiff_keeps_its_orientation_tag(tmp_path, byteorder):
    """Pillow's raw decoder (``RGB;16L`` / ``RGB;16B``, not libtiff's): rounded too, and the TIFF's Orientation tag
    turns the image once (OpenCV applies it as it decodes, and Pillow's header states the turned size)."""
    tifffile = pytest.importorskip("tifffile")
    pixels = between_levels((2, 5, 3))
    path = tmp_path / "turned.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", byteorder=byteorder, extratags=[(0x0112, "H", 1, 6, True)])
    got = np.asarray(read_rgb(path))
    assert got.shape == (5, 2, 3)
    assert np.array_equal(got, np.rot90(nearest(pixels), k=-1))


def test_8_bit_and_16_bit_gray_tiffs_are_left_to_pillow(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "gray16.tif"), np.zeros((2, 2), np.uint16))  # I;16: Pillow reads it whole
    PIL.Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb8.tif")
    for name in ("gray16.tif", "rgb8.tif"):
        with PIL.Image.open(tmp_path / name) as im:
            assert deep_colour_kind(im) is None, name


def test_a_16_bit_tiff_of_colour_planes_is_left_to_pillow(tmp_path):
    """A TIFF of one plane per colour (PlanarConfiguration 2) that libtiff decompresses Pillow reads right (the high
    byte); OpenCV reads its first plane as all three colours (OpenCV 5.1), so it is not decoded there."""
    tifffile = pytest.importorskip("tifffile")
    pixels = np.zeros((4, 6, 3), np.uint16)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 0x8000, 0x4000, 0xC000
    path = tmp_path / "planes.tif"
    tifffile.imwrite(path, pixels.transpose(2, 0, 1).copy(), photometric="rgb", planarconfig="separate",
                     compression="zlib")
    with PIL.Image.open(path) as im:
        assert deep_colour_kind(im) is None
    assert (np.asarray(read_rgb(path)) == np.array([128, 64, 192], np.uint8)).all()


def test_an_uncompressed_16_bit_tiff_of_colour_planes_is_refused_naming_it(tmp_path):
    """Pillow decoded its planes as 8-bit ones (half the image, every other value 0: a red-green-blue file came out
    striped black) and OpenCV reads its first plane only: refused in one line naming the file."""
    tifffile = pytest.importorskip("tifffile")
    pixels = np.full((4, 6, 3), 0x8000, np.uint16)
    path = tmp_path / "planes.tif"
    tifffile.imwrite(path, pixels.transpose(2, 0, 1).copy(), photometric="rgb", planarconfig="separate")
    with pytest.raises(ValueError, match=r"planes\.tif: cannot read image .*separate, uncompressed colour planes"):
        read_rgb(path)
    eight = tmp_path / "planes8.tif"  # 8-bit planes: Pillow reads them right
    tifffile.imwrite(eight, (pixels >> 8).astype(np.uint8).transpose(2, 0, 1).copy(), photometric="rgb",
                     planarconfig="separate")
    assert (np.asarray(read_rgb(eight)) == 128).all()
