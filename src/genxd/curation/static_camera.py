"""A camera that does not move: detected from the static background, given identity poses.

SfM needs parallax; a tripod shot has none, so incremental mapping finds no initial pair and global
mapping returns arbitrary poses (docs/curation.md). When enough of the background's KLT tracks (outside the
object masks) stay put, every frame gets the identity pose instead: with no camera motion, where a static point
would be in frame ``j`` is where it was in frame ``i`` whatever its depth, so the motion stage measures
object motion exactly without any depth (:func:`static_camera_sfm` holds constant depth maps).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..utils.pycolmap_import import load_pycolmap
from .sfm import SfmResult, camera_intrinsics_normalized, klt_feature_tracks

__all__ = ["STATIC_CAMERA_MAX_PX", "STATIC_CAMERA_MIN_STILL", "OLD_STILL_CAMERA", "is_static_camera",
           "square_still_camera", "static_camera_sfm"]

#: A background track is still when it stays within this many pixels of where it was first seen (JPEG
#: noise and KLT: about 0.1 px on still frames).
STATIC_CAMERA_MAX_PX = 0.5
#: The camera is static when, in the median frame, at least this fraction of the background tracks is still.
#: Measured on the 20 synthetic 4D clips of docs/curation_accuracy.md (flow masks miss parts of moving objects and
#: their shadows, whose tracks are not still): still cameras 0.59 and 0.36, moving cameras at most 0.15.
STATIC_CAMERA_MIN_STILL = 0.25


def is_static_camera(gray: list[np.ndarray], allowed: np.ndarray | None, max_px: float = STATIC_CAMERA_MAX_PX,
                     min_still: float = STATIC_CAMERA_MIN_STILL, min_tracks: int = 20) -> bool:
    """True when, in the median frame, at least ``min_still`` of the background tracks (KLT, outside the
    masks) are within ``max_px`` of where they were first seen. A frame after the first with fewer than
    ``min_tracks`` tracks seen before (none: a blank frame, a cut) counts as not still.

    Args:
        gray: ``N`` frames ``uint8 [H, W]``; allowed: ``bool [N, H, W]`` background (None: everywhere).
    """
    first_xy: dict[int, np.ndarray] = {}
    still: list[float] = []
    for frame, (ids, xy) in enumerate(klt_feature_tracks(gray, allowed)):
        known = np.array([int(i) in first_xy for i in ids], bool)
        if known.sum() >= min_tracks:
            start = np.stack([first_xy[int(i)] for i in ids[known]])
            moved = np.linalg.norm(xy[known] - start, axis=1)
            still.append(float((moved < max_px).mean()))
        elif frame > 0:  # too few tracks to tell, none at all too (a blank frame: it was left out of the median)
            still.append(0.0)
        for i, p in zip(ids[~known], xy[~known]):
            first_xy[int(i)] = p
    return bool(still) and float(np.median(still)) >= min_still


def static_camera_sfm(image_names: list[str], height: int, width: int, focal: float | None) -> SfmResult:
    """Identity poses for every frame and one pinhole camera (``focal`` fx/W, 1.0 when unknown: the
    motion of a still camera does not depend on it; square pixels, fy = fx, as ``--focal`` gives the SfM
    path's camera). The reconstruction has the images, no points."""
    pycolmap = load_pycolmap()

    f = 1.0 if focal is None else float(focal)
    camera = pycolmap.Camera(camera_id=1, model="PINHOLE", width=int(width), height=int(height),
                             params=[f * width, f * width, width / 2, height / 2])  # square pixels: fy = fx
    reconstruction = pycolmap.Reconstruction()
    reconstruction.add_camera_with_trivial_rig(camera)
    identity = np.ascontiguousarray(np.eye(4)[:3, :])
    for i, name in enumerate(image_names):
        image = pycolmap.Image(name=name, camera_id=1, image_id=i + 1)
        reconstruction.add_image_with_trivial_frame(image, pycolmap.Rigid3d(identity))
    n = len(image_names)
    return SfmResult(
        reconstruction=reconstruction, image_names=list(image_names), c2w=np.repeat(np.eye(4)[None], n, 0),
        registered=np.ones(n, bool), K=camera_intrinsics_normalized(camera), height=int(height), width=int(width),
        mean_reprojection_error=0.0, num_points3D=0, features="klt", mapper="static_camera",
    )


#: What a corrected old still-camera curation is, for the warnings of its readers (:func:`square_still_camera`).
OLD_STILL_CAMERA = ("a still-camera curation by a genxd before 2026-12-05, whose camera has fy = focal x H (pixels "
                    "stretched by the frame's aspect): read with fy = fx (square pixels, as the curation meant)")


def square_still_camera(meta: object, K: torch.Tensor, heights: Sequence[int],
                        widths: Sequence[int]) -> torch.Tensor | None:
    """``K`` (``[N, 3, 3]`` normalised: fx / W, fy / H of images ``heights`` x ``widths``) with fy = fx in pixels
    when ``meta`` (the sample's ``meta.json``) is a still-camera curation's (``sfm_mapper: static_camera``) written
    before 22ff448, whose camera had fy = focal x H (:func:`static_camera_sfm` always meant square pixels, fx =
    focal x W = fy); None when ``K`` needs no correction (another curation, or square pixels already)."""
    if not isinstance(meta, dict) or meta.get("sfm_mapper") != "static_camera" or not len(K):
        return None
    aspect = torch.tensor(list(widths), dtype=K.dtype) / torch.tensor(list(heights), dtype=K.dtype)  # W / H
    square = K[:, 0, 0] * aspect  # fy / H of fy = fx
    if torch.allclose(K[:, 1, 1], square, rtol=1e-5, atol=0):
        return None
    K = K.clone()
    K[:, 1, 1] = square
    return K
