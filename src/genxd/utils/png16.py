"""16-bit colour PNGs read at their full depth, then rounded to the nearest 8-bit level.

Pillow decodes a 16-bit RGB, RGBA or gray + alpha PNG (a raw converter's or a renderer's export) by keeping the
high byte of each value: rounded down, up to one level off (``0x10F0`` is 16.87 levels, read as 16). Such files
are decoded here by OpenCV at their full depth (``cv2.IMREAD_UNCHANGED``) and rounded to the nearest level, as
16-bit gray PNGs (which Pillow reads whole, as ``I;16``) already are. The image keeps Pillow's metadata (EXIF
orientation, ICC profile), so it is oriented and colour-managed as any other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import numpy as np
import PIL.Image

from .pixel_range import to_uint8_by_range

__all__ = ["deep_colour_kind", "rounded_deep_png"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type (IHDR) -> the PIL mode its pixels come out in, for the types Pillow truncates at 16 bits
_COLOUR_TYPES = {2: "RGB", 4: "LA", 6: "RGBA"}


def deep_colour_kind(head: bytes) -> str | None:
    """``"RGB"``, ``"RGBA"`` or ``"LA"`` when a file's first bytes (at least 26) are those of a 16-bit PNG of that
    colour type, else None."""
    if len(head) < 26 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR" or head[24] != 16:
        return None
    return _COLOUR_TYPES.get(head[25])


def _encoded(source: str | os.PathLike | IO[bytes]) -> bytes:
    if hasattr(source, "read"):
        at = source.tell()
        source.seek(0)
        data = source.read()
        source.seek(at)
        return data
    return Path(source).read_bytes()


def rounded_deep_png(im: PIL.Image.Image, source: str | os.PathLike | IO[bytes]) -> PIL.Image.Image:
    """``im`` (opened by Pillow from ``source``, a path or a binary file object) with its pixels decoded again at
    full depth and rounded to 8 bits when it is a 16-bit colour PNG (:func:`deep_colour_kind`), its ``info``
    (EXIF, ICC profile) kept; else ``im`` itself. Pillow's pixels are kept where OpenCV cannot decode the file."""
    if im.format != "PNG":
        return im
    data = _encoded(source)
    kind = deep_colour_kind(data[:32])
    if kind is None:
        return im
    import cv2

    # the stored pixels: the EXIF orientation is Pillow's to apply (below, from the info kept), not twice
    deep = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if deep is None or deep.dtype != np.uint16 or deep.shape[:2] != (im.height, im.width) or deep.ndim != 3:
        return im
    if kind == "LA":  # OpenCV gives gray + alpha as BGRA (gray three times)
        deep = deep[..., [0, 3]]
    else:
        deep = deep[..., [2, 1, 0, 3][:deep.shape[-1]]]  # BGR(A) -> RGB(A)
    if deep.shape[-1] != len(kind):
        return im
    out = PIL.Image.fromarray(to_uint8_by_range(deep, is_float=False, sixteen_bit=True))  # LA, RGB or RGBA
    out.info = dict(im.info)
    return out

