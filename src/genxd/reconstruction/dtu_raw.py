"""A scan of DTU's MVS data as published (and as pixelNeRF's and RegNeRF's DTU loaders read it):

- ``DTU/Rectified/scanN/rect_001_3_r5000.png ... rect_049_3_r5000.png`` (or ``Rectified/scanN_train/``): view
  ``i`` (0 ... 48) is ``rect_{i+1:03d}`` (a gap is refused: masks and splits go by view number); of DTU's
  lighting conditions, light 3 (RegNeRF's ``dtu_light_cond``) is read, the other files are left alone;
- ``DTU/Calibration/cal18/pos_001.txt ... pos_049.txt``: the 3x4 projection matrix ``P = K [R | t]`` of each view,
  for the 1600x1200 images, in DTU's world units (millimetres, kept).

The input is the scan's image folder, ``DTU/Rectified/scanN``; ``Calibration/`` is looked for beside
``Rectified/`` (the one the scan is given in, then, for a scan folder that is a link, the one its target is in).
The images may be DTU's 1600x1200 or that size scaled (``K`` is normalised by 1600x1200); another aspect ratio
(MVSNet's 640x512 crops in ``scanN_train``, which come with their own ``Cameras/`` files) is refused.
Each ``P`` is decomposed as RegNeRF's loader does (:func:`genxd.cameras.projection_matrix.decompose_projection`).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..cameras.projection_matrix import decompose_projection
from .views import Views, pixel_camera_views

__all__ = ["DTU_LIGHT", "DTU_CALIBRATION", "DTU_IMAGE_SIZE", "is_dtu_scan", "load_dtu_scan"]

#: the lighting condition read (RegNeRF's default ``dtu_light_cond``)
DTU_LIGHT = 3
#: the calibration folder, relative to the DTU folder that holds ``Rectified/``
DTU_CALIBRATION = Path("Calibration") / "cal18"
#: (width, height) of the images DTU's calibration is for
DTU_IMAGE_SIZE = (1600, 1200)
_RECT = re.compile(r"rect_(\d{3})_")


def is_dtu_scan(folder: Path) -> bool:
    """Whether ``folder`` holds DTU's rectified images (``rect_NNN_...``)."""
    return any(_RECT.match(p.name) for p in folder.iterdir() if p.is_file())


def _view_images(folder: Path) -> dict[int, Path]:
    """``{view number (1-based): image}`` of the light :data:`DTU_LIGHT` images in ``folder``."""
    pattern = re.compile(rf"rect_(\d{{3}})_{DTU_LIGHT}_r5000\.png", re.IGNORECASE)
    found = {int(m.group(1)): p for p in folder.iterdir() if p.is_file() and (m := pattern.fullmatch(p.name))}
    if not found:
        raise ValueError(f"{folder}: no rect_NNN_{DTU_LIGHT}_r5000.png images (DTU's rectified images of light "
                         f"{DTU_LIGHT}, the one read)")
    gap = next((i for i in range(1, len(found) + 1) if i not in found), None)
    if gap is not None:  # view i must be rect_{i+1:03d}: splits and masks (NNN.png) go by view number
        raise ValueError(f"{folder}: no rect_{gap:03d}_{DTU_LIGHT}_r5000.png, but later views; DTU's views run "
                         f"rect_001 ... without gaps (view i is rect_{{i+1}}, as masks and splits number them)")
    return dict(sorted(found.items()))


def _projection(file: Path) -> np.ndarray:
    if not file.is_file():
        raise ValueError(f"{file}: no such calibration file (DTU's Calibration/cal18/pos_NNN.txt, one per view)")
    try:  # the text without a UTF-8 byte order mark (a Windows editor's): numpy read '\ufeff2607.4' as no number
        P = np.loadtxt(io.StringIO(file.read_bytes().decode("utf-8-sig")), dtype=np.float64, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: cannot read a 3x4 projection matrix ({exc.__class__.__name__}: {exc})") from None
    return P


def load_dtu_scan(folder: Path, resolution: int | None = None, images_of: Sequence[int] | None = None) -> Views:
    """The views of DTU scan ``folder`` (``Rectified/scanN``; the module docstring), in view order; a one-line
    ValueError for a missing ``Calibration/cal18`` or ``pos_NNN.txt``, a matrix that is no camera, or images of
    another aspect ratio than the calibration's (as stored). Each image is downsized to ``resolution`` (longer side;
    None: kept) as it is read. ``images_of``: only those views, their images alone read
    (:func:`~genxd.reconstruction.views.load_views`)."""
    # beside the Rectified/ the scan is given in, then beside the one it links to (Rectified/scanN a link to
    # another disk's folder: looked for only beside its target, Calibration/ was not found)
    scan_dirs = (Path(os.path.abspath(folder)), folder.resolve())
    places = list(dict.fromkeys(f.parent.parent / DTU_CALIBRATION for f in scan_dirs))
    calibration = next((c for c in places if c.is_dir()), None)
    if calibration is None:
        raise ValueError(f"{folder}: DTU's rectified images without {' or '.join(map(str, places))} (DTU's layout: "
                         f"DTU/Rectified/scanN/rect_001_{DTU_LIGHT}_r5000.png ..., "
                         f"DTU/Calibration/cal18/pos_001.txt ...)")
    views = _view_images(folder)
    Ks, c2ws = [], []
    for number in views:
        file = calibration / f"pos_{number:03d}.txt"
        K, c2w = decompose_projection(_projection(file), str(file))
        Ks.append(K)
        c2ws.append(c2w)
    paths = list(views.values())
    loaded = pixel_camera_views(paths, Ks, c2ws, [p.name for p in paths], folder, size=DTU_IMAGE_SIZE,
                                resolution=resolution, images_of=images_of)
    h, w = loaded.input_size  # as stored, before downsizing
    cal_w, cal_h = DTU_IMAGE_SIZE
    if abs(h * cal_w / w - cal_h) > cal_h / h:  # not 1600x1200 scaled (to within a pixel of the images)
        raise ValueError(f"{folder}: the images are {w}x{h}, but DTU's calibration is for {cal_w}x{cal_h} images "
                         "(or that size scaled); cropped images (MVSNet's 640x512) need their own cameras")
    return loaded
