"""Names in the order people number them: ``frame_2`` before ``frame_10`` (curated frame folders, COLMAP images,
3DGS views). No heavy imports: camera-file readers use it at ``genxd generate`` time."""

from __future__ import annotations

import re

__all__ = ["natural_key"]

_DIGITS = re.compile(r"([0-9]+)")


def natural_key(name: str) -> tuple:
    """A sort key that compares runs of digits as numbers: ``frame_2`` before ``frame_10`` (a plain string sort
    puts ``frame_10`` first); zero-padded names keep their order, and names equal as numbers (``f01``, ``f1``)
    are ordered by their text."""
    parts = _DIGITS.split(name)  # text, digits, text, ...: the same kind at the same place in every key
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name
