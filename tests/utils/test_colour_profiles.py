"""``genxd.utils.colour_profiles``: a photo tagged with a profile other than sRGB (an iPhone's Display P3, a camera's
Adobe RGB) is read in sRGB, as viewers show it; an sRGB, a missing or a broken profile leaves the pixels as stored."""

from __future__ import annotations

import io
import struct

import numpy as np
import PIL.Image
import pytest

from genxd.utils.images import read_rgb
from genxd.utils.memory_images import memory_image_to_rgb

# Colorants (the XYZ of pure R, G, B, adapted to D50 as ICC profiles store them)
DISPLAY_P3 = np.array([[0.5151, 0.2412, -0.0011], [0.2920, 0.6922, 0.0419], [0.1571, 0.0666, 0.7841]]).T
ADOBE_RGB = np.array([[0.6097, 0.3111, 0.0195], [0.2053, 0.6257, 0.0609], [0.1492, 0.0632, 0.7446]]).T
SRGB = np.array([[0.4361, 0.2225, 0.0139], [0.3851, 0.7169, 0.0971], [0.1431, 0.0606, 0.7141]]).T
ADOBE_GAMMA = 563 / 256


def _s15(x: float) -> bytes:
    return struct.pack(">i", int(round(x * 65536)))


def _xyz(v) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(c) for c in v)


def matrix_profile(colorants: np.ndarray, gamma: float | None) -> bytes:
    """A minimal ICC v2 RGB display profile: ``colorants`` (columns: XYZ of R, G, B) and one tone curve, a pure
    ``gamma`` or (None) the sRGB curve."""
    if gamma is not None:
        trc = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"
    else:
        trc = b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(
            _s15(x) for x in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    tags = [(sig, _xyz(colorants[:, i])) for i, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))]
    return _display_profile(b"RGB ", b"test profile", tags + [(sig, trc) for sig in (b"rTRC", b"gTRC", b"bTRC")])


def _display_profile(space: bytes, name: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 display profile of colour ``space`` (4 bytes: ``b"RGB "``, ``b"GRAY"``) holding a description
    ``name``, a D50 white point and ``tags`` (signature, data)."""
    text = name + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", _xyz((0.9642, 1.0, 0.8249))), *tags]
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        body += b"\0" * (-(start + len(body)) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (struct.pack(">I", start + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.clip(v, 0.0031308, None) ** (1 / 2.4) - 0.055)


def expected_srgb(rgb: np.ndarray, colorants: np.ndarray, gamma: float | None) -> np.ndarray:
    """``uint8`` pixels in the profile -> sRGB ``uint8`` by the colorimetry (clipped outside sRGB)."""
    v = rgb.astype(np.float64) / 255
    linear = v ** gamma if gamma is not None else _srgb_decode(v)
    xyz = linear @ colorants.T
    srgb_linear = np.clip(xyz @ np.linalg.inv(SRGB).T, 0, 1)
    return np.round(_srgb_encode(srgb_linear) * 255)


COLOURS = np.array([[[200, 100, 50], [30, 160, 90], [128, 128, 128], [60, 80, 220]]], np.uint8).repeat(4, 0)


@pytest.mark.parametrize("colorants, gamma", [(DISPLAY_P3, None), (ADOBE_RGB, ADOBE_GAMMA)], ids=["p3", "adobe"])
@pytest.mark.parametrize("suffix", ["png", "jpg", "webp", "tif"])
def test_a_wide_gamut_photo_is_read_in_srgb(tmp_path, colorants, gamma, suffix):
    # Before: the profile was ignored, so P3 (200, 100, 50) read as (200, 100, 50) instead of sRGB (215, 93, 31).
    path = tmp_path / f"photo.{suffix}"
    options = dict(quality=100, subsampling=0) if suffix == "jpg" else dict(lossless=True) if suffix == "webp" else {}
    PIL.Image.fromarray(COLOURS).save(path, icc_profile=matrix_profile(colorants, gamma), **options)
    stored = np.asarray(PIL.Image.open(path).convert("RGB")).astype(float)
    got = np.asarray(read_rgb(path)).astype(float)
    want = expected_srgb(stored.astype(np.uint8), colorants, gamma)
    assert np.abs(got - want).max() <= 2, (got[0], want[0])
    assert np.abs(got - stored).max() >= 10  # the colours really differ: the test can tell


def test_an_srgb_missing_or_broken_profile_leaves_the_pixels(tmp_path):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, profile in [("srgb", srgb), ("none", None), ("broken", b"not a profile at all" * 10),
                          ("cut", matrix_profile(DISPLAY_P3, None)[:200])]:
        path = tmp_path / f"{name}.png"
        PIL.Image.fromarray(COLOURS).save(path, **({"icc_profile": profile} if profile else {}))
        assert np.abs(np.asarray(read_rgb(path)).astype(int) - COLOURS).max() <= 1, name


def test_alpha_is_kept_and_composited_after_conversion(tmp_path):
    rgba = np.dstack([COLOURS, np.full(COLOURS.shape[:2], 255, np.uint8)])
    rgba[:, 3, 3] = 0  # one transparent column: white
    path = tmp_path / "rgba.png"
    PIL.Image.fromarray(rgba, "RGBA").save(path, icc_profile=matrix_profile(DISPLAY_P3, None))
    got = np.asarray(read_rgb(path)).astype(float)
    assert (got[:, 3] == 255).all()
    assert np.abs(got[:, :3] - expected_srgb(COLOURS[:, :3], DISPLAY_P3, None)).max() <= 2


def test_an_in_memory_pil_image_with_a_profile_is_read_as_its_file(tmp_path):
    path = tmp_path / "p3.png"
    PIL.Image.fromarray(COLOURS).save(path, icc_profile=matrix_profile(DISPLAY_P3, None))
    with PIL.Image.open(path) as im:
        im.load()
        from_memory = np.asarray(memory_image_to_rgb(im, "in memory"))
    assert np.array_equal(from_memory, np.asarray(read_rgb(path)))
    assert np.abs(from_memory.astype(float) - expected_srgb(COLOURS, DISPLAY_P3, None)).max() <= 2


def gray_profile(gamma: float) -> bytes:
    """A minimal ICC v2 gray display profile: one tone curve, a pure ``gamma``."""
    trc = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"
    return _display_profile(b"GRAY", b"gray test profile", [(b"kTRC", trc)])


GRAYS = np.array([[40, 90, 128, 200]], np.uint8).repeat(3, 0)


def _linear_gray_in_srgb(gray: np.ndarray) -> np.ndarray:
    """Gray levels of a gamma-1 profile as sRGB gray (much lighter: 128 -> 188)."""
    return np.round(_srgb_encode(gray.astype(np.float64) / 255) * 255)


@pytest.mark.parametrize("mode", ["L", "LA", "I;16"])
def test_a_gray_profile_is_applied_with_alpha_and_at_16_bits(tmp_path, mode):
    # Before: only 8-bit gray (L) had its profile applied; gray + alpha and 16-bit gray were read as sRGB.
    path = tmp_path / f"gray_{mode.replace(';', '')}.png"
    if mode == "I;16":
        im = PIL.Image.fromarray(GRAYS.astype(np.uint16) * 257)
    else:
        im = PIL.Image.fromarray(GRAYS) if mode == "L" else PIL.Image.fromarray(
            np.dstack([GRAYS, np.full(GRAYS.shape, 255, np.uint8)]), "LA")
    im.save(path, icc_profile=gray_profile(1.0))
    with PIL.Image.open(path) as check:
        assert check.mode == mode and check.info.get("icc_profile")
    got = np.asarray(read_rgb(path)).astype(float)
    want = _linear_gray_in_srgb(GRAYS)
    assert np.abs(got - want[..., None]).max() <= 2, (got[0, :, 0], want[0])
    assert np.abs(want - GRAYS).max() >= 30  # the test can tell
