"""The camera preview: a .glb with one frustum per frame, the path through the camera centres and the
input image(s) on the frusta of the frames they condition.

Frusta follow ``docs/conventions.md`` (OpenCV ``c2w``, normalised ``K``): a frustum's far rectangle is the
image plane at depth ``d`` (``d K^-1 [u, v, 1]`` for the image corners ``u, v in {0, 1}``), so a zoom path
shows frusta of different widths at one place. For the viewer (glTF: +y up, camera looking along -z) every
point is converted by ``diag(1, -1, -1)``: the first camera then looks along -z with image-up along +y.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .glb import GlbScene

__all__ = ["frustum_corners", "frustum_depth", "write_camera_preview"]

_CV_TO_GL = np.diag([1.0, -1.0, -1.0])
_CONTEXT = np.array([1.0, 0.55, 0.1])  # frames conditioned on an input image
_PATH = np.array([0.9, 0.9, 0.9])


def frustum_depth(c2w: Tensor) -> float:
    """Image-plane depth for drawing: 15% of the path's extent, at least 0.2 (scene units)."""
    centres = c2w[:, :3, 3].double()
    extent = float((centres.max(0).values - centres.min(0).values).norm()) if len(centres) > 1 else 0.0
    return max(0.2, 0.15 * extent)


def frustum_corners(c2w: Tensor, K: Tensor, depth: float) -> Tensor:
    """World positions of the image corners (top-left, top-right, bottom-right, bottom-left) at ``depth``.

    Args:
        c2w: ``[F, 4, 4]`` OpenCV camera-to-world; K: ``[F, 3, 3]`` normalised intrinsics.
    Returns:
        ``[F, 4, 3]``.
    """
    uv1 = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    cam = depth * torch.einsum("fij,cj->fci", torch.linalg.inv(K.double()), uv1)  # F 4 3, z = depth
    return torch.einsum("fij,fcj->fci", c2w[:, :3, :3].double(), cam) + c2w[:, None, :3, 3].double()


def _time_colour(t: float) -> np.ndarray:
    """Blue (first frames) to green (last frames)."""
    return np.array([0.2, 0.45 + 0.45 * t, 1.0 - 0.6 * t])


def write_camera_preview(path: str | Path, c2w: Tensor, K: Tensor, images: Sequence[np.ndarray] = (),
                         context_index: Sequence[int] = ()) -> Path:
    """Write the preview .glb.

    Args:
        c2w: ``[F, 4, 4]``, K: ``[F, 3, 3]`` (docs/conventions.md).
        images: ``uint8 [H, W, 3]`` input images, drawn on the frusta of ``context_index`` (same length).
    """
    c2w = torch.as_tensor(c2w, dtype=torch.float64)
    K = torch.as_tensor(K, dtype=torch.float64)
    f = c2w.shape[0]
    depth = frustum_depth(c2w)
    corners = frustum_corners(c2w, K, depth).numpy() @ _CV_TO_GL.T  # F 4 3
    centres = c2w[:, :3, 3].numpy() @ _CV_TO_GL.T  # F 3
    context = set(int(i) for i in context_index)
    groups: dict[bool, tuple[list, list]] = {False: ([], []), True: ([], [])}  # by "is a context frame"
    for i in range(f):
        points, colours = groups[i in context]
        colour = _CONTEXT if i in context else _time_colour(i / max(1, f - 1))
        for c in range(4):  # centre to each corner, then the image rectangle
            points += [centres[i], corners[i, c], corners[i, c], corners[i, (c + 1) % 4]]
            colours += [colour] * 4
        # a small triangle above the image's top edge marks image-up
        top_mid = (corners[i, 0] + corners[i, 1]) / 2
        up = top_mid + 0.25 * (corners[i, 0] - corners[i, 3])
        for a, b in ((corners[i, 0] * 0.7 + corners[i, 1] * 0.3, up), (up, corners[i, 0] * 0.3 + corners[i, 1] * 0.7)):
            points += [a, b]
            colours += [colour] * 2
    points, colours = groups[False]
    for i in range(f - 1):
        points += [centres[i], centres[i + 1]]
        colours += [_PATH, _PATH]
    scene = GlbScene()
    # context frusta last: drawn over other frames at the same place (a forward path revisits the input view)
    for is_context, (points, colours) in groups.items():
        if points:
            scene.add_lines(np.asarray(points), np.asarray(colours), name="inputs" if is_context else "cameras")
    for image, i in zip(images, context_index):
        scene.add_image_quad(corners[int(i)], image, name=f"input_{int(i)}")
    return scene.save(path)
