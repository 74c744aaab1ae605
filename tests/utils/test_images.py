"""``genxd.utils.images``: every PIL mode and bit depth reads as the RGB it shows; what cannot be read is a
one-line ValueError naming the file (decompression bombs, truncated, empty, not an image)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.utils.images import collect_images, load_image, read_rgb, to_8bit
from tests.helpers import MP_LEFT, MP_PREVIEW, MP_RIGHT, mpo_photo, png16, png_chunk


def _mean(path: Path) -> float:
    return float(load_image(path, 8, 8).mean())


def test_every_mode_reads_as_its_grey_level(tmp_path):
    grey = np.full((12, 12), 128, np.uint8)
    cases = {
        "1.png": PIL.Image.fromarray(grey > 0).convert("1"),  # white
        "L.png": PIL.Image.fromarray(grey, "L"),
        "LA.png": PIL.Image.fromarray(np.dstack([grey, np.full_like(grey, 255)]), "LA"),
        "RGB.bmp": PIL.Image.fromarray(np.dstack([grey] * 3)),
        "RGBA.webp": PIL.Image.fromarray(np.dstack([grey] * 3 + [np.full_like(grey, 255)])),
        "P.png": PIL.Image.fromarray(np.dstack([grey] * 3)).convert("P"),
        "CMYK.jpg": PIL.Image.fromarray(np.dstack([grey] * 3)).convert("CMYK"),
        "I16.png": PIL.Image.fromarray(np.full((12, 12), 32896, np.uint16)),  # 128 * 257
        "I.tif": PIL.Image.fromarray(np.full((12, 12), 32896, np.int32)),
        "F01.tif": PIL.Image.fromarray(np.full((12, 12), 128 / 255, np.float32)),
        "F255.tif": PIL.Image.fromarray(np.full((12, 12), 128.0, np.float32)),
    }
    for name, im in cases.items():
        im.save(tmp_path / name)
    png16(tmp_path / "rgb16.png", np.full((12, 12, 3), 32896, np.uint16))
    png16(tmp_path / "rgba16.png", np.dstack([np.full((12, 12), 32896, np.uint16)] * 3 + [np.full((12, 12), 65535, np.uint16)]))
    png16(tmp_path / "grey16.png", np.full((12, 12), 32896, np.uint16))
    for path in sorted(tmp_path.iterdir()):
        expected = 1.0 if path.name == "1.png" else 128 / 255
        assert abs(_mean(path) - expected) < 0.03, (path.name, PIL.Image.open(path).mode, _mean(path))


def test_transparency_is_composited_on_white(tmp_path):
    clear = np.zeros((8, 8, 4), np.uint8)
    PIL.Image.fromarray(clear, "RGBA").save(tmp_path / "clear.png")
    PIL.Image.fromarray(clear[..., [0, 3]], "LA").save(tmp_path / "clear_la.png")
    p = PIL.Image.new("P", (8, 8), 0)
    p.putpalette([0, 0, 0] * 256)
    p.info["transparency"] = 0
    p.save(tmp_path / "clear_p.png", transparency=0)
    for name in ("clear.png", "clear_la.png", "clear_p.png"):
        assert _mean(tmp_path / name) == pytest.approx(1.0), name


def test_a_16_bit_image_keeps_its_full_range(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16)[None].repeat(4, 0)
    im = read_rgb(png16(tmp_path / "ramp.png", ramp))
    row = np.asarray(im)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row.astype(int)) >= 0)


def _bomb(path: Path, side: int) -> Path:
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("maker, message", [
    (lambda p: _bomb(p, 10_000), "decompression-bomb"),
    (lambda p: _bomb(p, 30_000), "decompression-bomb"),
    (lambda p: p.write_bytes(b""), "cannot read image"),
    (lambda p: p.write_bytes(b"<html>not an image</html>"), "cannot read image"),
    (lambda p: p.write_bytes(_truncated_png()), "cannot read image"),
])
def test_unreadable_images_are_one_line_value_errors_naming_the_file(tmp_path, maker, message):
    path = tmp_path / "bad.png"
    maker(path)
    with pytest.raises(ValueError) as info:
        load_image(path, 8, 8)
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def _truncated_png() -> bytes:
    import io

    buf = io.BytesIO()
    PIL.Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()[: len(buf.getvalue()) // 2]


def test_collect_images_dedupes_and_checks_types(tmp_path):
    PIL.Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    assert collect_images([tmp_path, tmp_path / "a.png"]) == [tmp_path / "a.png"]
    with pytest.raises(ValueError, match="images: expected file or folder paths"):
        collect_images([3])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not an image file"):
        collect_images([tmp_path / "notes.txt"])


def _photo(path: Path, width: int, height: int, orientation: int = 1) -> Path:
    """A smooth JPEG 'photo' (red left half, blue right half of a gradient) with an EXIF orientation."""
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    pixels = np.concatenate([np.where(x < 0.5, 220, 30) * np.ones_like(y), 128 * y * np.ones_like(x),
                             np.where(x < 0.5, 30, 220) * np.ones_like(y)], axis=2)
    im = PIL.Image.fromarray(pixels.astype(np.uint8))
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, quality=92, exif=exif)
    return path


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_large_jpeg_is_decoded_at_a_reduced_scale_before_fitting(tmp_path, monkeypatch, orientation):
    # Before: a 2400x1600 photo fitted to 64x64 was decoded in full (at 48 megapixels: 0.9 s and 380 MB) and
    # only then resized; now Pillow's DCT scaling decodes it at 1/8 (300x200), still twice the output size.
    import genxd.utils.images as images

    path = _photo(tmp_path / "photo.jpg", 2400, 1600, orientation)
    full = images.pil_to_tensor(images.fit_image(read_rgb(path), 64, 64))
    sizes = []
    fit = images.fit_image
    monkeypatch.setattr(images, "fit_image", lambda im, *a, **k: sizes.append(im.size) or fit(im, *a, **k))
    fitted = load_image(path, 64, 64)
    assert sizes == [(300, 200) if orientation == 1 else (200, 300)]  # upright: orientation 6 turns it
    assert float((fitted - full).abs().mean()) < 1 / 255 and float((fitted - full).abs().max()) < 4 / 255
    small = _photo(tmp_path / "small.jpg", 200, 120)  # nothing to gain: decoded in full
    load_image(small, 64, 64)
    assert sizes[-1] == (200, 120)


def test_a_photo_with_a_preview_picture_mpo_is_a_still_jpeg(tmp_path, monkeypatch):
    # Before: a JPEG with MPF data (a phone's photo with its preview: Pillow's format "MPO", 2 frames) warned
    # "an animated image of 2 frames: only the first is used", and was decoded in full (draft was for "JPEG" only)
    import warnings

    import genxd.utils.images as images

    photo = PIL.Image.open(_photo(tmp_path / "plain.jpg", 2400, 1600))
    path = mpo_photo(tmp_path / "IMG_0001.jpg", photo, quality=92)
    assert PIL.Image.open(path).format == "MPO"
    sizes = []
    fit = images.fit_image
    monkeypatch.setattr(images, "fit_image", lambda im, *a, **k: sizes.append(im.size) or fit(im, *a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = load_image(path, 64, 64)
    assert sizes == [(300, 200)]  # decoded at 1/8, as the same photo without its preview
    assert float((fitted - load_image(tmp_path / "plain.jpg", 64, 64)).abs().max()) < 4 / 255


def test_a_stereo_photo_mpo_is_read_as_its_left_view_and_said(tmp_path):
    # Before: a stereo camera's MPO (Fujifilm W3, Nintendo 3DS: two views of type "Disparity") was read as its left
    # view silently, as a phone's photo with its preview is (rightly)
    import warnings

    from genxd.utils.images import frames_note
    from genxd.validation import GenXDWarning

    left, right = (PIL.Image.new("RGB", (64, 48), c) for c in ((200, 30, 30), (30, 30, 200)))
    path = mpo_photo(tmp_path / "DSCF0001.MPO.jpg", left, attributes=(MP_LEFT, MP_RIGHT), others=[right])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        rgb = read_rgb(path)
    assert [str(w.message) for w in said if issubclass(w.category, GenXDWarning)] == [
        f"{path}: read the left view of a stereo pair; the right view is not used"]
    assert abs(rgb.getpixel((32, 24))[0] - 200) < 8  # the left view
    with PIL.Image.open(path) as im:  # the demo page's note (header only)
        assert frames_note(im, path.name) == f"{path.name}: read the left view of a stereo pair; the right view is not used"
    with PIL.Image.open(mpo_photo(tmp_path / "IMG_0001.jpg", left)) as im:  # a phone's photo and its preview
        assert im.format == "MPO" and frames_note(im, "IMG_0001.jpg") is None


@pytest.mark.parametrize("name, said", [("anim.webp", "an animated image of 3 frames"),
                                        ("anim.gif", "an animated image of 3 frames"),
                                        ("scan.tif", "a multi-page TIFF of 3 pages")])
def test_the_first_frame_of_a_multi_frame_image_is_used_and_said(tmp_path, name, said):
    # Before: an animated WebP or a multi-page TIFF was silently reduced to its first frame
    import warnings

    from genxd.validation import GenXDWarning

    frames = [PIL.Image.new("RGB", (16, 12), (c, c, c)) for c in (10, 128, 250)]
    path = tmp_path / name
    frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True)
    with pytest.warns(GenXDWarning, match=f"{name}: {said}: only the first is used"):
        assert abs(_mean(path) - 10 / 255) < 2 / 255
    frames[0].save(tmp_path / "one.webp", lossless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(tmp_path / "one.webp", 8, 8)


def test_a_gif_is_an_input_image_its_first_frame_used(tmp_path):
    # Before: "anim.gif: not an image file (expected .png, ...)", though an animated WebP or APNG gave its first
    # frame with a warning; a creator's GIF (a loop, a sprite, a logo) is now read the same way.
    import warnings

    from genxd.validation import GenXDWarning

    frames = [PIL.Image.new("RGB", (16, 12), (c, c, c)) for c in (10, 128, 250)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert collect_images([tmp_path / "anim.gif"]) == [tmp_path / "anim.gif"]
    with pytest.warns(GenXDWarning, match="anim.gif: an animated image of 3 frames: only the first is used"):
        assert abs(_mean(tmp_path / "anim.gif") - 10 / 255) < 2 / 255
    still = PIL.Image.new("P", (8, 8), 1)
    still.putpalette([0, 0, 0, 200, 30, 30] + [0, 0, 0] * 254)
    still.save(tmp_path / "logo.gif", transparency=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert collect_images([tmp_path]) == [tmp_path / "anim.gif", tmp_path / "logo.gif"]
        logo = load_image(tmp_path / "logo.gif", 8, 8)
    assert np.allclose(logo[:, 0, 0].numpy(), np.array([200, 30, 30]) / 255, atol=1 / 255)


def test_to_8bit_keeps_the_metadata():
    # to_rgb applies a 16-bit gray image's ICC profile after making it 8-bit: the profile must come along.
    im = PIL.Image.fromarray(np.array([[0, 65535]], np.uint16))
    im.info = {"icc_profile": b"gray", "dpi": (72, 72)}
    out = to_8bit(im, "x.png")
    assert out.mode == "L" and np.asarray(out).tolist() == [[0, 255]]
    assert out.info == im.info and out.info is not im.info


@pytest.mark.parametrize("attributes, frame, said", [
    ((MP_LEFT, MP_RIGHT, MP_RIGHT), 2, "read view 3 of the 3 views of a multi-view photo (the picture it is at, 2)"
                                       "; the others are not used"),
    ((MP_LEFT, MP_PREVIEW, MP_RIGHT, MP_RIGHT), 3, "read view 3 of the 3 views of a multi-view photo (the picture "
                                                   "it is at, 3); the others are not used"),
    ((MP_LEFT, MP_PREVIEW, MP_RIGHT, MP_RIGHT), 1, "read picture 2 (the picture it is at, 1), not one of the 3 "
                                                   "views of a multi-view photo; those are not used"),
    ((MP_LEFT, MP_RIGHT, MP_RIGHT), 0, "read the first of 3 views of a multi-view photo; the others are not used")])
def test_a_later_picture_of_a_multi_view_photo_is_named_by_its_view(tmp_path, attributes, frame, said):
    """Read at its third picture (an image object seek()-ed there), a three-view MPO said "read picture 3 of the 3
    of 3 views of a multi-view photo"; with a preview among the pictures the picture number was no view number."""
    from genxd.utils.images import views_note

    pictures = [PIL.Image.new("RGB", (32, 24), (40 * i, 0, 0)) for i in range(len(attributes))]
    path = mpo_photo(tmp_path / "DSCF0001.MPO", pictures[0], attributes=attributes, others=pictures[1:])
    with PIL.Image.open(path) as im:
        assert views_note(im, "photo", frame) == f"photo: {said}"


def test_an_input_held_as_8_bits_gives_the_floats_it_was_read_as_bitwise(tmp_path):
    """``genxd generate`` holds its inputs as uint8 until each is sampled (float32: 6.3 GB for 2,000 inputs at
    512x512): the floats made from them are bitwise those read before, for every value and for a fitted photo."""
    from genxd.utils.images import fit_image, load_image_uint8, pil_to_tensor, uint8_to_tensor

    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    im = PIL.Image.fromarray(np.dstack([values, values[::-1], values.T]))
    held = uint8_to_tensor(torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous())
    assert torch.equal(held.view(torch.int32), pil_to_tensor(im).view(torch.int32))

    path = tmp_path / "photo.jpg"
    rng = np.random.default_rng(1)
    PIL.Image.fromarray((rng.random((90, 130, 3)) * 255).astype(np.uint8)).save(path, quality=85)
    for fit in ("crop", "pad"):
        u8 = load_image_uint8(path, 48, 48, fit)
        assert u8.dtype == torch.uint8 and u8.shape == (3, 48, 48)
        before = pil_to_tensor(fit_image(read_rgb(path, at_least=96), 48, 48, fit))  # load_image as it was
        assert torch.equal(uint8_to_tensor(u8).view(torch.int32), before.view(torch.int32))
        assert torch.equal(load_image(path, 48, 48, fit).view(torch.int32), before.view(torch.int32))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_oriented_box_is_where_exif_transpose_takes_the_pixels(orientation):
    """A reduced-scale JPEG's photo box (``read_rgb_extent``) follows the EXIF orientation as its pixels do."""
    import PIL.ImageOps

    from genxd.utils.images import oriented_box

    box = (2, 1, 7, 4)  # in a 9x6 image
    a = np.zeros((6, 9), np.uint8)
    a[box[1]:box[3], box[0]:box[2]] = 255
    im = PIL.Image.fromarray(a)
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    turned = np.asarray(PIL.ImageOps.exif_transpose(im))
    rows, cols = np.nonzero(turned)
    want = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    assert oriented_box(box, im.size, orientation) == want
