"""The 3DGS viewer's ``cameras.json``, read as a camera path.

The original 3DGS code's ``train.py`` (``camera_to_JSON``) and ``genxd reconstruct`` (``cameras_3dgs.json`` and
``3dgs/cameras.json``, :func:`genxd.reconstruction.inria_model.viewer_cameras`) write a JSON list with one object
per view: ``id``, ``img_name``, ``width``, ``height``, ``position`` (the camera centre), ``rotation`` (the
camera-to-world rotation, rows; OpenCV axes) and ``fx``, ``fy`` in pixels. The layout has no principal point: the
viewers take the image centre, as this reader does. The views are read in the order of their images' names.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ._io import as_c2w, as_intrinsics, describe, json_number, json_numbers, json_size
from .camera_path import CameraPath
from .formats import _K_from_pixels

__all__ = ["VIEWER_JSON", "VIEWER_KEYS", "is_viewer_json", "viewer_json_from_object"]

#: Format name used in messages and in ``CameraPath.source_format``.
VIEWER_JSON = "3DGS cameras.json"
#: The keys every view of the layout must have (``id`` and ``img_name`` are optional here).
VIEWER_KEYS = ("width", "height", "position", "rotation", "fx", "fy")


def is_viewer_json(obj: Any) -> bool:
    """Whether a parsed JSON is the 3DGS viewer's layout: a list of objects (a w2c list holds lists)."""
    return isinstance(obj, list) and bool(obj) and isinstance(obj[0], dict)


def _view(entry: Any, where: str) -> tuple[torch.Tensor, int, int, float, float, str | None]:
    """One view's c2w ``[4, 4]`` (checked rigid), height, width, fx, fy (pixels) and image name; ValueError naming
    the field."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object with {', '.join(VIEWER_KEYS)}, got {describe(entry)}")
    missing = [k for k in VIEWER_KEYS if k not in entry]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    height = json_size(entry["height"], f"{where}: 'height'")
    width = json_size(entry["width"], f"{where}: 'width'")
    fx = json_number(entry["fx"], f"{where}: 'fx'", positive=True)
    fy = json_number(entry["fy"], f"{where}: 'fy'", positive=True)
    centre = json_numbers(entry["position"], f"{where}: 'position'", 3)
    rows = entry["rotation"]
    if not isinstance(rows, list) or len(rows) != 3:
        raise ValueError(f"{where}: 'rotation': expected a 3x3 matrix (list of rows), got {describe(rows)}")
    R = [json_numbers(row, f"{where}: 'rotation'[{r}]", 3) for r, row in enumerate(rows)]
    name = entry.get("img_name")
    c2w = as_c2w(torch.tensor([R[r] + [centre[r]] for r in range(3)], dtype=torch.float64),
                 name=f"{where}: 'rotation', 'position'")[0]
    return c2w, height, width, fx, fy, name if isinstance(name, str) else None


def viewer_json_from_object(obj: Any, path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> CameraPath:
    """A parsed 3DGS viewer ``cameras.json`` (see the module docstring) as a :class:`CameraPath`, in the order of the
    views' ``img_name`` (numbers in names compared as numbers) when every view has one, else in the list's order;
    every view must have the same image size. ValueError naming the file, the view and the field.

    3DGS's ``train.py`` lists the test views (every 8th image, with ``--eval``) before the training views: read in
    the list's order, such a path went back and forth along the capture (0, 8, 16, 1, 2, ...)."""
    from ..utils.natural_order import natural_key

    where = f"{path} ({VIEWER_JSON})"
    if not isinstance(obj, list) or not obj:
        raise ValueError(f"{where}: expected a non-empty list of views, got {describe(obj)}")
    views = [_view(entry, f"{where}: [{i}]") for i, entry in enumerate(obj)]
    if all(v[5] is not None for v in views):
        views.sort(key=lambda v: natural_key(str(v[5])))
    sizes = sorted({(v[1], v[2]) for v in views})
    if len(sizes) != 1:
        raise ValueError(f"{where}: views have different sizes (height, width) {sizes}; a camera path needs one size")
    (height, width), = sizes
    c2w = torch.stack([v[0] for v in views])
    K = torch.stack([_K_from_pixels(v[3], v[4], width / 2, height / 2, height, width) for v in views])
    K = as_intrinsics(K, len(views), name=f"{where}: 'fx', 'fy'")
    names = [v[5] for v in views if v[5] is not None]
    return CameraPath(c2w.to(dtype), K.to(dtype), height, width, names if len(names) == len(views) else None,
                      source_format=VIEWER_JSON)
