"""Cameras in one convention: OpenCV camera-to-world, normalised intrinsics (docs/conventions.md)."""

from .geometry import *  # noqa: F401,F403
from .geometry import __all__ as _geometry_all

__all__ = list(_geometry_all)
