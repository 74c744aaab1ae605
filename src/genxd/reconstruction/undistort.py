"""Undistorting the images of a COLMAP model with lens distortion, as COLMAP's ``image_undistorter`` does.

The rasteriser draws pinhole cameras only, so views whose COLMAP camera has distortion terms (``SIMPLE_RADIAL``,
the camera model ``genxd curate`` writes, ``RADIAL``, ``OPENCV``, ...) are resampled to the pinhole camera
COLMAP's undistorter chooses for them (``pycolmap.undistort_camera`` with its default options: the same focal
length, the image cropped to the pixels seen by the distorted one): each pixel centre of the new image is taken
through the new camera to its ray and through the distorted camera to the stored image, and sampled there
bilinearly. Pixel centres are at +0.5 in both (COLMAP's convention and ``docs/conventions.md``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.pycolmap_import import load_pycolmap

__all__ = ["PINHOLE_MODELS", "undistort_images"]

#: COLMAP camera models without distortion terms
PINHOLE_MODELS = frozenset({"SIMPLE_PINHOLE", "PINHOLE"})


def _sampling_grid(model: str, params: Sequence[float], height: int, width: int) -> tuple[Tensor, Tensor, int, int]:
    """``(grid [1, H', W', 2] for grid_sample, normalised K [3, 3], H', W')`` of one distorted camera."""
    pycolmap = load_pycolmap()
    distorted = pycolmap.Camera(model=model, width=width, height=height, params=list(params))
    pinhole = pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), distorted)
    w, h = int(pinhole.width), int(pinhole.height)
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
    rays = pinhole.cam_from_img(np.stack([jj.ravel(), ii.ravel()], axis=1))  # [h w, 2] on the plane z = 1
    src = distorted.img_from_cam(np.concatenate([rays, np.ones((len(rays), 1))], axis=1), check_cheirality=False)
    # grid_sample with align_corners=False: -1 and 1 are the outer edges of the first and last pixels
    grid = np.stack([2.0 * src[:, 0] / width - 1.0, 2.0 * src[:, 1] / height - 1.0], axis=1)
    K = torch.as_tensor(np.asarray(pinhole.calibration_matrix()), dtype=torch.float64)
    K[0] /= w
    K[1] /= h
    return torch.from_numpy(grid.reshape(1, h, w, 2)).float(), K, h, w


def undistort_images(images: Sequence[Tensor], models: Sequence[str], params: Sequence[Sequence[float]]
                     ) -> tuple[list[Tensor], list[Tensor]]:
    """Each ``[3, H, W]`` image of a COLMAP camera ``(model, params)`` as the undistorted pinhole camera sees it.

    Returns ``(images, K)``: the images (``[3, H', W']``, the undistorter's size; pinhole ones unchanged) and
    their normalised intrinsics ``[3, 3]`` (float64), None for the pinhole ones (their own K stays).
    """
    grids: dict[tuple, tuple[Tensor, Tensor, int, int]] = {}
    out_images, out_K = [], []
    for image, model, p in zip(images, models, params):
        if model in PINHOLE_MODELS:
            out_images.append(image)
            out_K.append(None)
            continue
        key = (model, tuple(float(x) for x in p), int(image.shape[-2]), int(image.shape[-1]))
        if key not in grids:
            grids[key] = _sampling_grid(model, p, key[2], key[3])
        grid, K, _, _ = grids[key]
        warped = F.grid_sample(image[None].float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        out_images.append(warped[0].clamp(0.0, 1.0))
        out_K.append(K)
    return out_images, out_K
