"""Gaussian .ply copies framed for the page's splat viewer, so it opens looking as the input camera did.

The splat viewer in Gradio's ``Model3D`` (gsplat.js) starts with an orbit camera at distance 5 from the
origin, 0.5 rad to the side and 0.5 rad above (world +y down, camera +z forward: the OpenCV axes of
docs/conventions.md), with a focal length of 1132 pixels whatever the canvas size. :func:`framing` finds the
similarity transform that turns the first input camera's view direction into the viewer's, looking at the
scene's centre on its optical axis, scaled so the input image's height fills the canvas (the viewer's field
of view is narrower: the first camera lands on the viewer's axis, nearer than 5); :func:`write_viewer_ply` applies it to
a 3DGS .ply (positions, rotations, log-scales; colour as the degree-0 coefficients only, since the viewer
draws no view-dependent colour). The files ``genxd reconstruct`` wrote are left as they are; the copies
are for display only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Framing", "framing", "write_viewer_ply", "VIEWER_CAMERA", "VIEWER_HALF_TAN"]

#: gsplat.js OrbitControls defaults: (alpha, beta, radius) about the origin
VIEWER_CAMERA = (0.5, 0.5, 5.0)
#: tan of the viewer's vertical half field of view: canvas height / 2 / focal, for the page's ~440 px canvas
VIEWER_HALF_TAN = 220.0 / 1132.0


def _viewer_c2w() -> tuple[np.ndarray, np.ndarray]:
    """Rotation (OpenCV axes, columns = camera x, y, z in world) and position of the viewer's first camera."""
    a, b, r = VIEWER_CAMERA
    pos = np.array([r * np.sin(a) * np.cos(b), -r * np.sin(b), -r * np.cos(a) * np.cos(b)])
    z = -pos / np.linalg.norm(pos)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)  # level camera: x perpendicular to world down (+y)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1), pos


@dataclass(frozen=True)
class Framing:
    """``p' = scale * rotation @ (p - centre)`` (world units of the reconstruction -> the viewer's)."""

    rotation: np.ndarray  # 3 3
    centre: np.ndarray  # 3
    scale: float

    def points(self, p: np.ndarray) -> np.ndarray:
        return self.scale * (p - self.centre) @ self.rotation.T


def framing(first_c2w: np.ndarray, first_K: np.ndarray, means: np.ndarray, opacity_logits: np.ndarray) -> Framing:
    """The transform showing what camera ``first_c2w`` (OpenCV 4x4, normalised ``first_K``) saw in the viewer.

    The centre is the point on the camera's optical axis at the median depth ``d`` of the fairly opaque Gaussians
    in front of it (sigmoid(opacity) > 0.3; all Gaussians in front if none is). It goes to the viewer's target
    and the camera's axes to the viewer camera's; the scale is ``5 / d`` times the ratio of the two vertical
    fields of view (tangents), so the scene at depth ``d`` fills the viewer's height as it filled the image's.
    """
    R0, c0 = first_c2w[:3, :3], first_c2w[:3, 3]
    depth = (means - c0) @ R0[:, 2]
    front = depth > 1e-3
    solid = front & (1 / (1 + np.exp(-opacity_logits)) > 0.3)
    pick = solid if solid.sum() >= 10 else front
    d = float(np.median(depth[pick])) if pick.any() else 1.0
    Rv, pos = _viewer_c2w()
    image_half_tan = 0.5 / float(first_K[1, 1])
    scale = float(np.linalg.norm(pos)) / d * VIEWER_HALF_TAN / image_half_tan
    return Framing(rotation=Rv @ R0.T, centre=c0 + d * R0[:, 2], scale=scale)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of ``(w, x, y, z)`` quaternions, broadcast over rows."""
    w1, x1, y1, z1 = np.moveaxis(a, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(b, -1, 0)
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=-1)


def write_viewer_ply(src: str | Path, dst: str | Path, first_c2w: np.ndarray, first_K: np.ndarray,
                     frame: Framing | None = None) -> Framing:
    """Write ``dst``: the 3DGS .ply ``src`` moved by ``frame`` (default: :func:`framing` of ``src``); returns it."""
    from plyfile import PlyData, PlyElement
    from scipy.spatial.transform import Rotation

    v = PlyData.read(str(src))["vertex"].data
    means = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
    frame = frame or framing(np.asarray(first_c2w, dtype=np.float64), np.asarray(first_K, dtype=np.float64), means,
                             np.asarray(v["opacity"], np.float64))
    q_frame = Rotation.from_matrix(frame.rotation).as_quat()  # x, y, z, w
    q_frame = np.array([q_frame[3], *q_frame[:3]])
    quats = np.stack([v[f"rot_{i}"] for i in range(4)], axis=1).astype(np.float64)
    quats /= np.linalg.norm(quats, axis=1, keepdims=True).clip(1e-12)
    new_means = frame.points(means)
    new_quats = _quat_mul(q_frame[None], quats)
    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
             "rot_0", "rot_1", "rot_2", "rot_3"]
    out = np.empty(len(v), dtype=[(n, "f4") for n in names])
    for i, n in enumerate("xyz"):
        out[n] = new_means[:, i]
    for n in ("f_dc_0", "f_dc_1", "f_dc_2", "opacity"):
        out[n] = v[n]
    for i in range(3):
        out[f"scale_{i}"] = v[f"scale_{i}"] + np.log(frame.scale)
    for i in range(4):
        out[f"rot_{i}"] = new_quats[:, i]
    from ..utils.io import atomic_file

    with atomic_file(dst) as tmp:  # the time slider may hand the page this file while a Lift again rewrites it
        PlyData([PlyElement.describe(out, "vertex")], byte_order="<").write(str(tmp))
    return frame
