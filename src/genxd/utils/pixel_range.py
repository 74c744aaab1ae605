"""What the values of a float or high-bit-depth image mean, read the same way by every reader (images for
``generate`` and ``reconstruct``, frames for ``curate``; docs/conventions.md "Images and videos")."""

from __future__ import annotations

import numpy as np

__all__ = ["to_uint8_by_range"]


def to_uint8_by_range(a: np.ndarray, *, is_float: bool, sixteen_bit: bool = False) -> np.ndarray:
    """8-bit pixels from an array of finite values, read by their range: float values up to 1 are ``[0, 1]``;
    values up to 255 are 8-bit (unless ``sixteen_bit``: a 16-bit file); up to 65535 16-bit; larger ones are
    scaled by their maximum. Rounded to the nearest level, clipped to ``[0, 255]``."""
    a = np.asarray(a, dtype=np.float64)
    hi = float(a.max()) if a.size else 0.0
    if is_float and hi <= 1.0:
        scale = 255.0
    elif hi <= 255.0 and not sixteen_bit:
        scale = 1.0
    elif hi <= 65535.0:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / hi
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
