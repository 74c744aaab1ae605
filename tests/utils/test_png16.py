"""``genxd.utils.png16``: a 16-bit colour PNG is read at its full depth and rounded to the nearest 8-bit level, by
``generate``'s reader (``read_rgb``, ``decode_rgb``) and ``curate``'s frame folders alike; Pillow alone kept the
high byte (rounded down, up to one level off)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from genxd.curation import read_frames
from genxd.utils.images import decode_rgb, read_rgb
from genxd.utils.png16 import deep_colour_kind
from tests.helpers import png16, png_chunk, tiff16


def png16_bytes(tmp_path, pixels: np.ndarray, exif: bytes | None = None) -> bytes:
    """:func:`tests.helpers.png16`'s file, with an eXIf chunk (the TIFF data, no ``Exif\\0\\0``) after IHDR."""
    data = png16(tmp_path / "made.png", pixels).read_bytes()
    return data if exif is None else data[:33] + png_chunk(b"eXIf", exif) + data[33:]


def between_levels(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """16-bit values whose nearest 8-bit level is above their high byte (``v / 257`` rounds up): Pillow's
    truncation is one level off on every one of them."""
    rng = np.random.default_rng(seed)
    high = rng.integers(0, 120, shape)
    low = high + 130 + rng.integers(0, 256 - 130 - 120, shape)  # low byte - high byte >= 130: rounds up
    return (high * 256 + low).astype(np.uint16)


def nearest(v: np.ndarray) -> np.ndarray:
    return np.rint(v.astype(np.float64) / 257).astype(np.uint8)


def test_the_values_are_between_levels():
    v = between_levels((64,))
    assert (nearest(v) == (v >> 8) + 1).all()  # the test can tell rounding from truncation


def write16(kind: str, path: Path, pixels: np.ndarray) -> Path:
    """``pixels`` (``uint16 [H, W, 3|4]``) as a 16-bit ``kind`` file (``"png"``: :func:`tests.helpers.png16`,
    ``"tif"``: OpenCV's, :func:`tests.helpers.tiff16`) at ``path`` with that suffix."""
    return (png16 if kind == "png" else tiff16)(path.with_suffix(f".{kind}"), pixels)


@pytest.mark.parametrize("kind", ["png", "tif"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_16_bit_colour_file_is_rounded_to_the_nearest_level(tmp_path, kind, mode):
    # Before: Pillow's high byte, one level below the nearest on every pixel here.
    pixels = between_levels((5, 7, 3))
    if mode == "RGBA":
        pixels = np.dstack([pixels, np.full((5, 7), 65535, np.uint16)])
    path = write16(kind, tmp_path / "deep", pixels)
    with PIL.Image.open(path) as im:
        assert deep_colour_kind(im) == mode
    assert np.array_equal(np.asarray(read_rgb(path)), nearest(pixels[..., :3]))
    assert np.array_equal(np.asarray(decode_rgb(path.read_bytes(), path.name)), nearest(pixels[..., :3]))


def test_a_16_bit_gray_alpha_png_is_rounded_and_composited(tmp_path):
    gray = between_levels((4, 6))
    alpha = np.full((4, 6), 65535, np.uint16)
    alpha[0, 0] = 0  # transparent: the white background
    path = tmp_path / "la.png"
    path.write_bytes(png16_bytes(tmp_path, np.dstack([gray, alpha])))
    got = np.asarray(read_rgb(path))
    want = np.repeat(nearest(gray)[..., None], 3, axis=-1)
    want[0, 0] = 255
    assert np.array_equal(got, want)


def test_the_exif_orientation_of_a_16_bit_png_is_applied(tmp_path):
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    pixels = between_levels((2, 5, 3))
    path = tmp_path / "turned.png"
    path.write_bytes(png16_bytes(tmp_path, pixels, exif=exif.tobytes()[6:]))
    got = np.asarray(read_rgb(path))
    assert got.shape == (5, 2, 3)
    assert np.array_equal(got, np.rot90(nearest(pixels), k=-1))


@pytest.mark.parametrize("kind", ["png", "tif"])
def test_curate_reads_a_folder_of_16_bit_frames_rounded(tmp_path, kind):
    frames = tmp_path / "frames"
    frames.mkdir()
    pixels = [between_levels((6, 8, 3), seed=i) for i in range(2)]
    for i, p in enumerate(pixels):
        write16(kind, frames / f"{i:03d}", p)
    assert np.array_equal(np.asarray(read_frames(frames)), np.stack([nearest(p) for p in pixels]))


def test_only_16_bit_colour_pngs_are_read_again(tmp_path):
    kinds = {}
    for name, pixels in [("rgb", np.zeros((1, 1, 3), np.uint16)), ("rgba", np.zeros((1, 1, 4), np.uint16)),
                         ("la", np.zeros((1, 1, 2), np.uint16)), ("gray", np.zeros((1, 1), np.uint16))]:
        with PIL.Image.open(png16(tmp_path / f"{name}.png", pixels)) as im:
            kinds[name] = deep_colour_kind(im)
    assert kinds == {"rgb": "RGB", "rgba": "RGBA", "la": "LA", "gray": None}  # 16-bit gray: Pillow reads it whole
    PIL.Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "8.png")
    PIL.Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "8.tif")
    for name in ("8.png", "8.tif"):
        with PIL.Image.open(tmp_path / name) as im:
            assert deep_colour_kind(im) is None, name


def test_a_16_bit_colour_png_is_read_once_and_decoded_once(tmp_path, monkeypatch):
    # Before: Pillow decoded the pixels (thrown away), then the whole file was read again for OpenCV to decode.
    import cv2
    import PIL.ImageFile

    pixels = between_levels((4, 6, 3))
    path = png16(tmp_path / "deep.png", pixels)
    calls = {"pillow": 0, "opencv": 0, "whole file": 0}
    real_load, real_imdecode = PIL.ImageFile.ImageFile.load, cv2.imdecode

    def pillow_load(im):
        calls["pillow"] += 1
        return real_load(im)

    def opencv_decode(*args, **kwargs):
        calls["opencv"] += 1
        return real_imdecode(*args, **kwargs)

    def read_bytes(file):
        calls["whole file"] += 1
        return real_read_bytes(file)

    data, real_read_bytes = path.read_bytes(), Path.read_bytes
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", pillow_load)
    monkeypatch.setattr(cv2, "imdecode", opencv_decode)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    for read, whole in ((lambda: read_rgb(path), 1), (lambda: decode_rgb(data, "deep.png"), 0),
                        (lambda: read_frames(tmp_path)[0], 1)):
        calls.update({"pillow": 0, "opencv": 0, "whole file": 0})
        assert np.array_equal(np.asarray(read()), nearest(pixels))
        assert calls == {"pillow": 0, "opencv": 1, "whole file": whole}
    PIL.Image.fromarray(nearest(pixels)).save(path)  # 8-bit: Pillow's alone, the file read by Pillow alone
    calls.update({"pillow": 0, "opencv": 0, "whole file": 0})
    assert np.array_equal(np.asarray(read_rgb(path)), nearest(pixels))
    assert calls["pillow"] >= 1 and calls["opencv"] == 0 and calls["whole file"] == 0, calls


def test_an_exif_chunk_after_the_pixels_still_turns_a_16_bit_png(tmp_path):
    # A guard: Pillow reads an eXIf chunk after IDAT only with the pixels, which it no longer decodes here.
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    pixels = between_levels((2, 5, 3), seed=4)
    data = png16(tmp_path / "made.png", pixels).read_bytes()
    path = tmp_path / "late.png"
    path.write_bytes(data[:-12] + png_chunk(b"eXIf", exif.tobytes()[6:]) + data[-12:])  # before IEND
    assert np.array_equal(np.asarray(read_rgb(path)), np.rot90(nearest(pixels), k=-1))


def test_reconstruct_reads_a_16_bit_view_rounded(tmp_path):
    from genxd.reconstruction.views import load_image

    pixels = between_levels((4, 5, 3), seed=3)
    path = tmp_path / "view.png"
    png16(path, pixels)
    got = (load_image(path).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert np.array_equal(got, nearest(pixels))
