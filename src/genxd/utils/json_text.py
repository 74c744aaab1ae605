"""JSON text that every JSON reader accepts.

Python's ``json`` writes a float NaN or infinity as the bare tokens ``NaN`` / ``Infinity``, which are not JSON:
JavaScript's ``JSON.parse``, ``jq`` and most other languages' parsers refuse the whole file. genxd's records can
hold such values (a validation PSNR with no views, a diverging loss, a depth scale with no SfM points), so every
file genxd writes goes through :func:`json_text`, which writes them as ``null`` (no number), as JavaScript's
``JSON.stringify`` does.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["finite_or_null", "json_text"]


def finite_or_null(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float (also numpy's) replaced by None, in dicts, lists and tuples at any
    depth; other values are returned as they are."""
    if isinstance(obj, float):  # numpy's float64 is a float
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_or_null(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(value) for value in obj]
    if type(obj).__module__ == "numpy" and hasattr(obj, "dtype") and obj.dtype.kind == "f" and obj.ndim == 0:
        value = float(obj)  # a numpy float32 scalar, which json cannot write anyway
        return value if math.isfinite(value) else None
    return obj


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, **kwargs)`` with NaN and infinities written as ``null`` (see the module docstring)."""
    return json.dumps(finite_or_null(obj), allow_nan=False, **kwargs)
