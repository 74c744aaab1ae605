"""``genxd reconstruct``'s own ``OUT/cameras.json``, read as a camera path.

:func:`genxd.reconstruction.pipeline._cameras_record` writes one object: ``height``, ``width``, ``names``,
``c2w`` (OpenCV camera-to-world 4x4), ``K`` (normalised intrinsics, docs/conventions.md), ``times`` (a 4D
reconstruction's frame times, else null), ``train`` and ``test`` (the split). Read in the file's view order.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ._io import as_c2w, as_intrinsics, describe, json_matrices, json_numbers, json_size
from .camera_path import CameraPath

__all__ = ["RECON_JSON", "is_recon_json", "recon_json_from_object"]

#: Format name used in messages and in ``CameraPath.source_format``.
RECON_JSON = "genxd reconstruct cameras.json"


def is_recon_json(obj: Any) -> bool:
    """Whether a parsed JSON is ``genxd reconstruct``'s layout (an object with ``c2w`` and ``K``)."""
    return isinstance(obj, dict) and "c2w" in obj and "K" in obj


def recon_json_from_object(obj: Any, path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> CameraPath:
    """A parsed reconstruct ``cameras.json`` (see the module docstring) as a :class:`CameraPath` (its times kept
    when they vary: a 4D reconstruction). ValueError naming the file and the field."""
    where = f"{path} ({RECON_JSON})"
    if not is_recon_json(obj):
        raise ValueError(f"{where}: expected an object with 'c2w' and 'K', got {describe(obj)}")
    height = json_size(obj.get("height"), f"{where}: 'height'")
    width = json_size(obj.get("width"), f"{where}: 'width'")
    c2w = as_c2w(json_matrices(obj["c2w"], f"{where}: 'c2w'", rows=(4,)), name=f"{where}: 'c2w'")
    n = len(c2w)
    K = as_intrinsics(json_matrices(obj["K"], f"{where}: 'K'", rows=(3,), cols=3), n, name=f"{where}: 'K'")
    times = None
    if obj.get("times") is not None:
        times = torch.tensor(json_numbers(obj["times"], f"{where}: 'times'", n), dtype=torch.float64)
        if not bool((times != times[0]).any()):
            times = None  # one time: a static scene
    names = obj.get("names")
    if not (isinstance(names, list) and len(names) == n and all(isinstance(x, str) for x in names)):
        names = None
    return CameraPath(c2w.to(dtype), K.to(dtype), height, width, names,
                      times=times, source_format=RECON_JSON)
