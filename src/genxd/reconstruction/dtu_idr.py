"""A DTU scan in the IDR / NeuS layout (IDR's ``scene_dataset.py``, NeuS's ``dataset.py``):

- ``scanN/image/000000.png ...`` (NeuS: ``000.png ...``), view ``i`` the ``i``-th image in name order;
- ``scanN/mask/000.png ...`` the object masks (``genxd reconstruct --masks scanN`` / ``eval-recon --masks``);
- ``scanN/cameras.npz`` (NeuS: ``cameras_sphere.npz``) with ``world_mat_i`` (4x4 or 3x4: the projection
  ``P = K [R | t]`` of view ``i`` in its top rows) and ``scale_mat_i`` (4x4: the normalisation of the scene).

The cameras are IDR's: ``P = (world_mat_i @ scale_mat_i)[:3]`` decomposed
(:func:`genxd.cameras.projection_matrix.decompose_projection`), so the **scene is normalised as IDR and NeuS
normalise it** (the object inside the unit sphere); a file without ``scale_mat_i`` keeps DTU's world units
(millimetres). ``K`` is normalised by the size of the images (the ones ``P`` was made for).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from genxd.utils.image_paths import folder_images
from genxd.utils.npz import NPZ_READ_ERRORS, npz_shape, require_numpy_file

from ..cameras.projection_matrix import decompose_projection
from .views import Views, pixel_camera_views

__all__ = ["IDR_IMAGE_DIR", "IDR_CAMERA_FILES", "is_idr_scan", "load_idr_scan"]

#: what reading an array of a camera file may raise for a bad file
_CAMERA_READ_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, *NPZ_READ_ERRORS)
#: the image folder of a scan in IDR's layout (COLMAP folders have ``images/``)
IDR_IMAGE_DIR = "image"
#: the camera files looked for, in this order (IDR's, NeuS's)
IDR_CAMERA_FILES = ("cameras.npz", "cameras_sphere.npz")


def is_idr_scan(folder: Path) -> bool:
    """Whether ``folder`` is laid out as an IDR / NeuS scan (has an ``image/`` folder)."""
    return (folder / IDR_IMAGE_DIR).is_dir()


def _matrix(cameras: np.lib.npyio.NpzFile, key: str, shapes: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``cameras[key]`` as float64 of one of ``shapes`` (checked from its header before reading); a ValueError
    naming ``key`` otherwise."""
    try:
        shape = npz_shape(cameras, key)
        if shape not in shapes:
            raise ValueError(f"expected {' or '.join('x'.join(map(str, s)) for s in shapes)}, got shape {list(shape)}")
        return np.asarray(cameras[key], dtype=np.float64)
    except _CAMERA_READ_ERRORS as exc:
        raise ValueError(f"{key}: {exc}") from None


def _images(folder: Path) -> list[Path]:
    image_dir = folder / IDR_IMAGE_DIR
    files = folder_images(image_dir)  # hidden files (macOS ._000000.png) left out: each would shift the views
    if not files:
        raise ValueError(f"{image_dir}: no images (IDR's layout: image/000000.png ...)")
    return files


def load_idr_scan(folder: Path, resolution: int | None = None, images_of: Sequence[int] | None = None) -> Views:
    """The views of the IDR / NeuS scan ``folder`` (the module docstring); a one-line ValueError naming the file for
    a missing or unreadable ``cameras.npz``, an image without its ``world_mat``, or a matrix that is no camera. Each image
    is downsized to ``resolution`` (longer side; None: kept) as it is read. ``images_of``: only those views, their
    images alone read (:func:`~genxd.reconstruction.views.load_views`)."""
    file = next((folder / name for name in IDR_CAMERA_FILES if (folder / name).is_file()), None)
    if file is None:
        raise ValueError(f"{folder}: an IDR-layout scan (image/) without {' or '.join(IDR_CAMERA_FILES)} "
                         "(world_mat_i, scale_mat_i per view)")
    paths = _images(folder)
    Ks, c2ws = [], []
    try:
        require_numpy_file(file)  # np.load took any other file for a pickle, and said to unpickle it
        cameras = np.load(file, allow_pickle=False)
        if not isinstance(cameras, np.lib.npyio.NpzFile):  # one array (np.save) under the .npz name
            raise ValueError("not an .npz archive (one array, as np.save writes): expected np.savez's world_mat_i")
        with cameras:
            keys = set(cameras.files)
            scaled = [f"scale_mat_{i}" in keys for i in range(len(paths))]
            if any(scaled) and not all(scaled):
                missing = scaled.index(False)
                raise ValueError(f"no scale_mat_{missing} for image {IDR_IMAGE_DIR}/{paths[missing].name} "
                                 "(the others have theirs)")
            for i, path in enumerate(paths):
                if f"world_mat_{i}" not in keys:
                    raise ValueError(f"no world_mat_{i} for image {IDR_IMAGE_DIR}/{path.name} (view {i} in name "
                                     f"order; the file has {sum(k.startswith('world_mat_') for k in keys)} world_mat)")
                P = _matrix(cameras, f"world_mat_{i}", ((4, 4), (3, 4)))[:3]
                if scaled[i]:
                    P = P @ _matrix(cameras, f"scale_mat_{i}", ((4, 4),))
                K, c2w = decompose_projection(P, f"world_mat_{i}")
                Ks.append(K)
                c2ws.append(c2w)
    except NPZ_READ_ERRORS as exc:
        raise ValueError(f"{file}: cannot read ({exc.__class__.__name__}: {exc})") from None
    except ValueError as exc:  # the file's name, once, before what is wrong in it
        raise ValueError(f"{file}: {exc}") from None
    return pixel_camera_views(paths, Ks, c2ws, [f"{IDR_IMAGE_DIR}/{p.name}" for p in paths], folder,
                              resolution=resolution, images_of=images_of)
