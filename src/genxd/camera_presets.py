"""The camera presets' names and the refusal of a name that is none of them, without torch: ``genxd generate``'s
early check of ``--camera`` runs before the model code is imported (torch, diffusers: seconds), and
:func:`genxd.generate`'s own check (:mod:`genxd.camera_arguments`) words its refusal the same way.

The presets themselves are :data:`genxd.cameras.trajectories.PRESETS` (that module imports torch); a test keeps
:data:`CAMERA_PRESETS` equal to its names, which the command line's help lists (``generate --camera``,
``trajectory make NAME``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .caller_style import arg

__all__ = ["CAMERA_PRESETS", "unknown_camera_message", "missing_camera_error"]

#: ``genxd.cameras.trajectories.PRESETS``' names, in its order (the help lists them so; refusals sort them)
CAMERA_PRESETS = ("orbit", "forward", "spiral", "dolly", "zoom", "pan", "static")


def unknown_camera_message(camera: str, presets: Iterable[str] = CAMERA_PRESETS) -> str:
    """The refusal of a camera argument that is neither one of ``presets`` nor an existing file / folder, naming the
    argument as the caller does (``--camera`` / ``camera``) and the preset meant (``'orbi'``, ``'Orbit'``)::

        camera must be one of dolly, forward, ... or a camera file / folder, got 'orbi' (did you mean 'orbit'?)
    """
    from .utils.close_names import close_name_note  # difflib: only for a refusal

    names = sorted(presets)
    return (f"{arg('camera')} must be one of {', '.join(names)} or a camera file / folder, got {camera!r}"
            f"{close_name_note(camera, names)}")


def missing_camera_error(camera: str, presets: Iterable[str] = CAMERA_PRESETS) -> Exception:
    """The error for a camera argument that is neither one of ``presets`` nor an existing file / folder: one written
    as a path (a suffix, a ``/``: ``cams.jsn``, ``poses/``) is a camera file not found (FileNotFoundError
    ``PATH: camera file or folder not found``), any other name an unknown preset (:func:`unknown_camera_message`,
    a :class:`genxd.validation.InvalidValue`). ``genxd generate``'s early check and :func:`genxd.generate`'s own
    check refuse it so, in the same words."""
    from .validation import InvalidValue

    path = Path(camera)
    if path.suffix or "/" in camera or os.sep in camera:
        return FileNotFoundError(f"{path}: camera file or folder not found")
    return InvalidValue(unknown_camera_message(camera, presets))
