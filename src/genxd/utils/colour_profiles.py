"""Embedded ICC colour profiles: an image's pixels converted to sRGB, the colour space genxd works in.

Phones and cameras tag their photos with the profile their numbers are in: an iPhone's JPEG / HEIC is in
Display P3, a camera set to Adobe RGB writes Adobe RGB, a print-ready CMYK JPEG carries its press profile.
Read as if they were sRGB, such pixels come out duller (P3, Adobe RGB) or off-colour (CMYK) than every viewer
shows them. The profile is applied with LittleCMS (``PIL.ImageCms``, relative colorimetric: colours outside
sRGB are clipped), as browsers do; an image without a profile, or with one that cannot be parsed or that does
not match the image's mode, is taken as sRGB (as browsers take it).
"""

from __future__ import annotations

import functools
import io

import PIL.Image

#: (profile colour space, image mode) -> (mode handed to LittleCMS, mode it returns)
_MODES = {
    ("RGB", "RGB"): ("RGB", "RGB"),
    ("RGB", "RGBA"): ("RGBA", "RGBA"),
    ("RGB", "P"): (None, None),  # decided by the palette's transparency: see to_srgb
    ("CMYK", "CMYK"): ("CMYK", "RGB"),
    ("GRAY", "L"): ("L", "RGB"),  # LittleCMS makes sRGB (an RGB profile) only as RGB
    ("GRAY", "LA"): ("L", "RGB"),  # the gray band (see to_srgb)
}


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, in_mode: str, out_mode: str):  # -> ImageCms.ImageCmsTransform | None
    """The transform from the profile ``icc`` to sRGB (None when the profile cannot be parsed or used)."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), in_mode, out_mode,
                                       renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None


@functools.lru_cache(maxsize=16)
def _colour_space(icc: bytes) -> str | None:
    from PIL import ImageCms

    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None


def to_srgb(im: PIL.Image.Image) -> PIL.Image.Image:
    """``im`` with its embedded ICC profile (``im.info["icc_profile"]``) applied: pixels in sRGB, the mode kept
    (a CMYK or gray image becomes RGB, gray + alpha RGBA, a palette image RGB or RGBA); alpha is kept as it is. Unchanged when it has no
    profile, or one that cannot be parsed or does not describe its mode. A gray profile applies to gray images
    (``L``, ``LA``; 16-bit gray is made 8-bit first, :func:`genxd.utils.images.to_rgb`)."""
    icc = im.info.get("icc_profile")
    if not icc or not isinstance(icc, bytes):
        return im
    space = _colour_space(icc)
    modes = _MODES.get((space or "", im.mode))
    if modes is None:
        return im
    pixels, alpha = im, None
    if im.mode == "P":
        pixels = im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        modes = (im.mode, im.mode)
    elif im.mode == "LA":  # LittleCMS takes no gray + alpha: the gray band alone, its alpha put back
        pixels, alpha = im.getchannel("L"), im.getchannel("A")  # modes: ("L", "RGB")
    transform = _transform(icc, *modes)
    if transform is None:
        return im
    out = transform.apply(pixels)
    if alpha is not None:
        out.putalpha(alpha)
    out.info = {k: v for k, v in im.info.items() if k != "icc_profile"}
    return out


__all__ = ["to_srgb"]
