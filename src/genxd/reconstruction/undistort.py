"""Undistorting the images of a COLMAP model with lens distortion, as COLMAP's ``image_undistorter`` does.

The rasteriser draws pinhole cameras only, so views whose COLMAP camera has distortion terms (``SIMPLE_RADIAL``,
the camera model ``genxd curate`` writes, ``RADIAL``, ``OPENCV``, ...) are resampled to the pinhole camera
COLMAP's undistorter chooses for them (``pycolmap.undistort_camera`` with its default options: the same focal
length, the image cropped to the pixels seen by the distorted one): each pixel centre of the new image is taken
through the new camera to its ray and through the distorted camera to the stored image, and sampled there
bilinearly (depth maps: nearest). Pixel centres are at +0.5 in both (COLMAP's convention and
``docs/conventions.md``).

A nerfstudio ``transforms.json`` states its lens as ``camera_model`` (``OPENCV``, ``OPENCV_FISHEYE``) and the
coefficients ``k1 k2 k3 k4 p1 p2`` (top level or per frame; :func:`transforms_lens` maps them to COLMAP's models
as nerfstudio's own undistortion reads them: ``OPENCV`` is OpenCV's ``k1 k2 p1 p2 k3 k4``, COLMAP's
``FULL_OPENCV`` when ``k3`` or ``k4`` is set). instant-ngp's ``colmap2nerf.py`` marks a fisheye lens with
``"is_fisheye": true`` instead (its ``k1 .. k4`` are then the fisheye's).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..cameras.colmap import PINHOLE_MODELS
from ..utils.pycolmap_import import load_pycolmap

__all__ = ["GridCache", "transforms_lens", "undistort_images", "undistorted_camera"]


def _pinhole_camera(model: str, params: Sequence[float], height: int, width: int) -> tuple[Any, Any]:
    """``(distorted, pinhole)`` pycolmap cameras: the pinhole one is what COLMAP's undistorter gives."""
    pycolmap = load_pycolmap()
    distorted = pycolmap.Camera(model=model, width=width, height=height, params=list(params))
    return distorted, pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), distorted)


def _normalised_K(pinhole: Any) -> Tensor:
    K = torch.as_tensor(np.asarray(pinhole.calibration_matrix()), dtype=torch.float64)
    K[0] /= int(pinhole.width)
    K[1] /= int(pinhole.height)
    return K


def undistorted_camera(model: str, params: Sequence[float], height: int, width: int) -> tuple[Tensor, int, int]:
    """``(normalised K [3, 3] float64, H', W')`` of the pinhole camera that :func:`undistort_images` gives the
    images of the COLMAP camera ``(model, params)`` of size ``height x width`` (cheap: no pixels are touched)."""
    _, pinhole = _pinhole_camera(model, params, height, width)
    return _normalised_K(pinhole), int(pinhole.height), int(pinhole.width)


def _sampling_grid(model: str, params: Sequence[float], height: int, width: int) -> tuple[Tensor, Tensor, int, int]:
    """``(grid [1, H', W', 2] for grid_sample, normalised K [3, 3], H', W')`` of one distorted camera."""
    distorted, pinhole = _pinhole_camera(model, params, height, width)
    w, h = int(pinhole.width), int(pinhole.height)
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
    rays = pinhole.cam_from_img(np.stack([jj.ravel(), ii.ravel()], axis=1))  # [h w, 2] on the plane z = 1
    src = distorted.img_from_cam(np.concatenate([rays, np.ones((len(rays), 1))], axis=1), check_cheirality=False)
    # grid_sample with align_corners=False: -1 and 1 are the outer edges of the first and last pixels
    grid = np.stack([2.0 * src[:, 0] / width - 1.0, 2.0 * src[:, 1] / height - 1.0], axis=1)
    return torch.from_numpy(grid.reshape(1, h, w, 2)).float(), _normalised_K(pinhole), h, w


class GridCache:
    """The sampling grids of the last cameras undistorted, up to ``max_bytes`` (a 1920 x 1080 camera's is 16 MB, a
    12 MP one's 91 MB) but at least the last ``min_grids``: building one takes about four times as long as resampling
    an image with it (47 vs 12 ms at 1080p, 450 vs 140 ms at 12 MP on two CPU cores), and a training dataset reads the
    same cameras item after item. A dataset sets ``min_grids`` to its views per item: an item of a camera per view
    asks for its grids in turn, so a cache holding one fewer than that drops each grid just before it is asked for
    again and never hits (memory: at most ``max(max_bytes, min_grids grids)``, below the item's own float images)."""

    def __init__(self, max_bytes: int = 128 << 20, min_grids: int = 1) -> None:
        if min_grids < 1:
            raise ValueError(f"min_grids must be >= 1, got {min_grids}")
        self.max_bytes, self.min_grids = int(max_bytes), int(min_grids)
        self._grids: OrderedDict[tuple, tuple[Tensor, Tensor, int, int]] = OrderedDict()

    def get(self, model: str, params: tuple[float, ...], height: int, width: int) -> tuple[Tensor, Tensor, int, int]:
        """``_sampling_grid(model, params, height, width)``, built once while it stays in the cache."""
        key = (model, tuple(params), height, width)
        if key in self._grids:
            self._grids.move_to_end(key)
            return self._grids[key]
        value = _sampling_grid(model, params, height, width)
        self._grids[key] = value
        while len(self._grids) > self.min_grids and sum(v[0].nbytes for v in self._grids.values()) > self.max_bytes:
            self._grids.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._grids)


def transforms_lens(meta: dict, K: Tensor, height: int, width: int, where: str
                    ) -> tuple[list[str], list[list[float]]] | None:
    """The COLMAP ``(models, params)`` of a nerfstudio ``transforms.json``'s frames (``meta["frames"]``), or None when
    no frame has distortion. ``K``: each frame's normalised intrinsics ``[N, 3, 3]`` as read, of images ``height x
    width``. A ValueError naming ``where`` for a camera model that is not a perspective or fisheye lens
    (``EQUIRECTANGULAR``)."""
    from genxd.cameras._io import json_number
    from genxd.cameras.formats import is_fisheye

    K_pixels = [(float(k[0, 0]) * width, float(k[1, 1]) * height, float(k[0, 2]) * width, float(k[1, 2]) * height)
                for k in K.double()]
    models, params, distorted = [], [], False
    for i, (frame, (fx, fy, cx, cy)) in enumerate(zip(meta["frames"], K_pixels)):
        fields = {**meta, **frame}  # a frame's own value, else the top level's
        camera_model = str(fields.get("camera_model") or "OPENCV").upper()
        coeff = {k: (0.0 if fields.get(k) is None else json_number(fields[k], f"{where}: frames[{i}]: {k!r}"))
                 for k in ("k1", "k2", "k3", "k4", "p1", "p2")}
        if is_fisheye(frame, meta):
            models.append("OPENCV_FISHEYE")
            params.append([fx, fy, cx, cy, coeff["k1"], coeff["k2"], coeff["k3"], coeff["k4"]])
            distorted = True  # a fisheye projection is not a pinhole one, even without coefficients
        elif camera_model in ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE"):
            k1, k2, k3, k4, p1, p2 = (coeff[k] for k in ("k1", "k2", "k3", "k4", "p1", "p2"))
            if k3 or k4:
                models.append("FULL_OPENCV")
                params.append([fx, fy, cx, cy, k1, k2, p1, p2, k3, k4, 0.0, 0.0])
            elif k1 or k2 or p1 or p2:
                models.append("OPENCV")
                params.append([fx, fy, cx, cy, k1, k2, p1, p2])
            else:
                models.append("PINHOLE")
                params.append([fx, fy, cx, cy])
            distorted = distorted or models[-1] != "PINHOLE"
        else:
            raise ValueError(f"{where}: frames[{i}] has camera_model {camera_model!r}; genxd reconstruct and genxd "
                             "train take perspective (OPENCV, PINHOLE, SIMPLE_PINHOLE) and fisheye (OPENCV_FISHEYE) "
                             "cameras")
    return (models, params) if distorted else None


def undistort_images(images: Sequence[Tensor], models: Sequence[str], params: Sequence[Sequence[float]],
                     depths: Sequence[Tensor] | None = None, grids: GridCache | None = None
                     ) -> tuple[list[Tensor], list[Tensor | None], list[Tensor]]:
    """Each ``[3, H, W]`` image of a COLMAP camera ``(model, params)`` as the undistorted pinhole camera sees it.

    Returns ``(images, K, depths)``: the images (``[3, H', W']``, the undistorter's size; pinhole ones unchanged),
    their normalised intrinsics ``[3, 3]`` (float64; None for the pinhole ones, whose own K stays) and the
    ``[H, W]`` z-depth maps ``depths`` resampled the same way (nearest; an empty list without them). Z-depth is
    the same for both cameras: they share the rays and the axes. ``grids``: a :class:`GridCache` kept across calls
    (a training dataset's: its items read the same cameras again); without it, consecutive views of one camera share
    one grid.
    """
    last: tuple[tuple, tuple[Tensor, Tensor, int, int]] | None = None  # one grid kept: views of one camera share it
    out_images: list[Tensor] = []
    out_K: list[Tensor | None] = []
    out_depths: list[Tensor] = []
    for i, (image, model, p) in enumerate(zip(images, models, params)):
        if model in PINHOLE_MODELS:
            out_images.append(image)
            out_K.append(None)
            if depths is not None:
                out_depths.append(depths[i])
            continue
        key = (model, tuple(float(x) for x in p), int(image.shape[-2]), int(image.shape[-1]))
        if last is None or last[0] != key:
            last = (key, grids.get(*key) if grids is not None else _sampling_grid(model, p, key[2], key[3]))
        grid, K, _, _ = last[1]
        warped = F.grid_sample(image[None].float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        out_images.append(warped[0].clamp(0.0, 1.0))
        out_K.append(K)
        if depths is not None:
            d = F.grid_sample(depths[i][None, None].float(), grid, mode="nearest", padding_mode="border",
                              align_corners=False)
            out_depths.append(d[0, 0])
    return out_images, out_K, out_depths
