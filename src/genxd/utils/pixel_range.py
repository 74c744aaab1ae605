"""What the values of a float or high-bit-depth image mean, read the same way by every reader (images for
``generate`` and ``reconstruct``, frames for ``curate``; docs/conventions.md "Images and videos")."""

from __future__ import annotations

import numpy as np

__all__ = ["to_uint8_by_range"]


#: values converted to float64 at a time (a band of rows): a 24-megapixel 16-bit RGB photo held as float64 whole, with
#: the temporaries of scaling and rounding, took about 2 GB on top of the image (an 80-megapixel one about 7 GB)
_BAND_VALUES = 1 << 20


def to_uint8_by_range(a: np.ndarray, *, is_float: bool, sixteen_bit: bool = False) -> np.ndarray:
    """8-bit pixels from an array of finite values, read by their range: float values up to 1 are ``[0, 1]``;
    values up to 255 are 8-bit (unless ``sixteen_bit``: a 16-bit file); up to 65535 16-bit; larger ones are
    scaled by their maximum. Rounded to the nearest level, clipped to ``[0, 255]``.

    Works in float64 on bands of the first axis (about a million values each), so the memory used beyond the
    input and the 8-bit result stays small whatever the image's size; the values are those of the whole array
    scaled at once."""
    a = np.asarray(a)
    hi = float(a.max()) if a.size else 0.0
    if is_float and hi <= 1.0:
        scale = 255.0
    elif hi <= 255.0 and not sixteen_bit:
        scale = 1.0
    elif hi <= 65535.0:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / hi
    out = np.empty(a.shape, np.uint8)
    if a.ndim == 0 or not a.size:
        out[...] = np.clip(np.rint(np.asarray(a, dtype=np.float64) * scale), 0, 255)
        return out
    rows = max(1, _BAND_VALUES // max(1, a[0].size))
    for start in range(0, a.shape[0], rows):
        band = a[start:start + rows].astype(np.float64)
        band *= scale
        np.rint(band, out=band)
        np.clip(band, 0, 255, out=band)
        out[start:start + rows] = band
    return out
