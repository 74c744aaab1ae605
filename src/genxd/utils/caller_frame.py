"""The first caller outside a package: where a warning raised deep inside genxd belongs (the user's line)."""

from __future__ import annotations

import os
import sys
from types import FrameType

__all__ = ["stacklevel_outside"]


def stacklevel_outside(package_dir: str, skip: int = 1) -> int:
    """The ``stacklevel`` for a ``warnings.warn`` call made ``skip`` frames below the caller of this function that
    points at the first frame whose code is not under ``package_dir`` (Python 3.12's ``skip_file_prefixes``, for
    every supported Python)."""
    package = os.path.abspath(package_dir).rstrip(os.sep) + os.sep
    frame: FrameType | None = sys._getframe(skip + 1)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
