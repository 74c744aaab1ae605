"""16-bit colour PNGs and TIFFs read at their full depth, then rounded to the nearest 8-bit level.

Pillow decodes a 16-bit RGB, RGBA or gray + alpha PNG (a raw converter's or a renderer's export), and a 16-bit RGB or
RGBA TIFF (a scanner's, Lightroom's or OpenCV's export, interleaved samples; its alpha straight or premultiplied), by keeping the high byte of each value:
rounded down, up to one level off (``0x10F0`` is 16.87 levels, read as 16). Such files are decoded here by OpenCV at
their full depth (``cv2.IMREAD_UNCHANGED``) and rounded to the nearest level, as 16-bit gray PNGs and TIFFs (which
Pillow reads whole, as ``I;16``) already are. Such a file is told from Pillow's header (its raw mode, before any
pixel is decoded), so its pixels are decoded once, by OpenCV, and the file read once more, whole. The image keeps
Pillow's metadata (EXIF orientation, also from a PNG's eXIf chunk after the pixels; ICC profile), so it is oriented
and colour-managed as any other. A TIFF's Orientation tag is applied by both decoders as they read the pixels (Pillow
states the turned size in its header already), so it is not carried over, which would turn the image twice."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import numpy as np
import PIL.Image
import PIL.ImageFile

from .image_formats import is_file_object
from .pixel_range import to_uint8_by_range

__all__ = ["deep_colour_kind", "load_rounded"]

#: Pillow's raw mode of a PNG -> the PIL mode its pixels come out in here, for the 16-bit colour types Pillow
#: truncates (RGB, RGBA, gray + alpha)
_DEEP_RAW_MODES = {"RGB;16B": "RGB", "RGBA;16B": "RGBA", "LA;16B": "LA"}
#: the same for a TIFF's interleaved samples (little-, big-endian, native: libtiff's); ``RGBa``: premultiplied
#: (associated) alpha, ExtraSamples 1, divided out at full depth (Pillow divides the high bytes: up to 2.8 levels off)
_DEEP_TIFF_RAW_MODES = {f"{mode};16{order}": mode for mode in ("RGB", "RGBA", "RGBa") for order in "LBN"}


def deep_colour_kind(im: PIL.Image.Image) -> str | None:
    """``"RGB"``, ``"RGBA"``, ``"RGBa"`` (a TIFF's premultiplied alpha) or ``"LA"`` when ``im`` (opened by Pillow, its pixels not loaded yet) is a 16-bit PNG or
    TIFF of that colour type, else None."""
    if not isinstance(im, PIL.ImageFile.ImageFile) or im.format not in ("PNG", "TIFF") or not im.tile:
        return None  # not a file Pillow opened (no tiles to decode), or not a PNG / TIFF
    args = im.tile[0][3]  # the raw mode Pillow would decode with (a TIFF's: the first of its decoder's arguments)
    if im.format == "PNG":
        return _DEEP_RAW_MODES.get(args) if isinstance(args, str) else None
    if getattr(im, "tag_v2", {}).get(284, 1) != 1:  # PlanarConfiguration 2, a plane per colour: OpenCV 5.1 reads
        return None  # the first plane as all three (libtiff-compressed ones Pillow reads right, truncated)
    raw = args[0] if isinstance(args, tuple) and args else None
    return _DEEP_TIFF_RAW_MODES.get(raw) if isinstance(raw, str) else None


def _encoded(source: str | os.PathLike | IO[bytes]) -> bytes:
    if is_file_object(source):
        at = source.tell()
        source.seek(0)
        data = source.read()
        source.seek(at)
        return data
    return Path(source).read_bytes()


def _exif_after_pixels(data: bytes) -> bytes | None:
    """The EXIF data of an eXIf chunk after the image data (which Pillow reads only with the pixels), else None."""
    at, past_pixels = 8, False  # past the signature
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            past_pixels = True
        elif kind == b"eXIf" and past_pixels:
            return b"Exif\x00\x00" + data[at + 8:at + 8 + length]  # as Pillow keeps it
        at += 12 + length  # length, type, data, CRC
    return None


def _read_deep(im: PIL.Image.Image, kind: str, source: str | os.PathLike | IO[bytes]) -> PIL.Image.Image | None:
    """The pixels of ``im``, a 16-bit colour PNG or TIFF of ``kind``, decoded by OpenCV at full depth and rounded to
    8 bits (``info`` kept); None when OpenCV cannot decode them as Pillow's header says."""
    import cv2

    data = _encoded(source)
    # the stored pixels: the EXIF orientation is Pillow's to apply (from the info kept), not twice
    deep = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if deep is None or deep.dtype != np.uint16 or deep.shape[:2] != (im.height, im.width) or deep.ndim != 3:
        return None
    if kind == "LA":  # OpenCV gives gray + alpha as BGRA (gray three times)
        deep = deep[..., [0, 3]]
    else:
        deep = deep[..., [2, 1, 0, 3][:deep.shape[-1]]]  # BGR(A) -> RGB(A)
    if deep.shape[-1] != len(kind):
        return None
    if kind == "RGBa":  # premultiplied: the colour divided by its alpha (none where transparent), as Pillow does
        alpha = deep[..., 3:].astype(np.float64)
        colour = np.where(alpha > 0, np.minimum(deep[..., :3] * 65535.0 / np.maximum(alpha, 1.0), 65535.0), 0.0)
        deep = np.concatenate([colour, alpha], axis=-1)
    out = PIL.Image.fromarray(to_uint8_by_range(deep, is_float=False, sixteen_bit=True))  # LA, RGB or RGBA
    out.info = dict(im.info)
    if im.format == "PNG" and (exif := _exif_after_pixels(data)) is not None:
        out.info["exif"] = exif
    return out


def load_rounded(im: PIL.Image.Image, source: str | os.PathLike | IO[bytes]) -> PIL.Image.Image:
    """The pixels of ``im`` (opened by Pillow from ``source``, a path or a binary file object, not loaded yet): a
    16-bit colour PNG or TIFF (:func:`deep_colour_kind`) decoded by OpenCV at full depth and rounded to 8 bits, its
    ``info`` (EXIF, ICC profile) kept; any other image ``im`` itself, loaded by Pillow (as where OpenCV cannot
    decode the file). A ValueError for an uncompressed 16-bit TIFF of one plane per colour, which Pillow decodes as
    8-bit planes (half the image, every other value 0) and OpenCV as its first plane only."""
    kind = deep_colour_kind(im)
    if kind is not None and (out := _read_deep(im, kind, source)) is not None:
        return out
    if _misread_planes(im):
        raise ValueError("a 16-bit TIFF of separate, uncompressed colour planes (PlanarConfiguration 2) is not read "
                         "correctly here; save it with interleaved samples or compressed")
    im.load()
    return im


def _misread_planes(im: PIL.Image.Image) -> bool:
    """Whether ``im`` is a TIFF of 16-bit colour planes that Pillow would decode with its 8-bit raw plane modes."""
    tags = getattr(im, "tag_v2", None)
    if not isinstance(im, PIL.ImageFile.ImageFile) or im.format != "TIFF" or tags is None or tags.get(284, 1) != 2:
        return False
    bits = tags.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return max(bits, default=8) > 8 and any(  # a raw tile's arguments: (raw mode, stride, orientation)
        t[0] == "raw" and isinstance(t[3], tuple) and t[3][0] in ("R", "G", "B", "A") for t in im.tile)
