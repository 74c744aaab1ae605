"""Camera-path accuracy: CameraCtrl's RotErr / TransErr between recovered and requested cameras.

Definitions (CameraCtrl, He et al. 2024, section 4.1; written out in ``docs/camera_paths_from_video.md``), for ``n``
frames with requested ("ground truth") cameras ``(R_gt^j, T_gt^j)`` and cameras recovered from the
generated video ``(R_gen^j, T_gen^j)``:

- ``RotErr = sum_j arccos((tr(R_gen^j (R_gt^j)^T) - 1) / 2)`` (reported in degrees); the rotations are
  camera-to-world and each path is taken **relative to its own first camera** (so the first frame
  contributes 0 and no alignment is needed for rotations);
- ``TransErr = sum_j ||T_gt^j - T_gen^j||_2`` over the camera centres. SfM recovers the generated
  cameras only up to a similarity (rotation, translation and **scale** are arbitrary); with both paths relative
  to their first camera, genxd fits one least-squares scale of the recovered centres to the requested ones
  before measuring (the anchored alignment below), so TransErr is in the requested path's units and measures
  the *shape* and direction of the path, not its absolute size. A requested path whose centres do not move (rotation, zoom, static) has
  no TransErr (None); a recovered path whose centres do not move while the requested ones do (a rotation-only
  recovery) has the largest: ``sum_j ||T_gt^j||`` (scale 0), not None.

Two alignments are reported: the **anchored** one (both paths relative to their first camera, which
fixes rotation and translation; one least-squares scale) for TransErr, and the free similarity
(Umeyama on the centres) for ``TransErr_sim3``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["PathErrors", "rotation_errors_deg", "compare_paths"]


def _np(x: Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def rotation_errors_deg(R_gen: Tensor | np.ndarray, R_gt: Tensor | np.ndarray) -> np.ndarray:
    """Per-frame ``arccos((tr(R_gen R_gt^T) - 1) / 2)`` in degrees, ``[N]`` (``R [N, 3, 3]``).

    Computed as ``atan2(sin, cos)`` of the same angle (``cos = (tr - 1) / 2``, ``sin`` = half the norm of the
    antisymmetric part), which equals the arccos formula but stays accurate near 0 and 180 degrees.
    """
    a, b = _np(R_gen), _np(R_gt)
    D = a @ np.swapaxes(b, -1, -2)
    cos = (np.trace(D, axis1=-2, axis2=-1) - 1.0) / 2.0
    skew = np.stack([D[:, 2, 1] - D[:, 1, 2], D[:, 0, 2] - D[:, 2, 0], D[:, 1, 0] - D[:, 0, 1]], -1)
    sin = 0.5 * np.linalg.norm(skew, axis=-1)
    return np.degrees(np.arctan2(sin, cos))


@dataclass
class PathErrors:
    """Errors of a recovered path against the requested one (see the module docstring).

    Attributes:
        rot_err_deg: per-frame rotation errors ``[n]`` (degrees; both paths relative to their first camera).
        centre_err: per-frame centre errors ``[n]`` in requested units after the **anchored** similarity
            (both paths relative to their first camera, one least-squares scale); None when the requested
            centres do not move.
        centre_err_sim3: the same after the free least-squares similarity of the centres (Umeyama: rotation,
            translation and scale fitted; the usual trajectory-error alignment; it also forgives a path
            that goes the wrong way, which the anchored one does not); None also with 2 frames (a similarity fits
            any 2 centres exactly).
        RotErr, TransErr, TransErr_sim3: the sums over frames (CameraCtrl's definitions).
        mean_rot_err_deg, mean_centre_err, mean_centre_err_sim3: per-frame means.
        path_length: the requested path's length; centre_err_rel / centre_err_sim3_rel: mean centre error
            over the path length; scale / scale_sim3: the fitted scales (recovered -> requested units).
    """

    num_frames: int
    rot_err_deg: list[float]
    RotErr: float
    mean_rot_err_deg: float
    path_length: float
    centre_err: list[float] | None = None
    TransErr: float | None = None
    mean_centre_err: float | None = None
    centre_err_rel: float | None = None
    scale: float | None = None
    centre_err_sim3: list[float] | None = None
    TransErr_sim3: float | None = None
    mean_centre_err_sim3: float | None = None
    centre_err_sim3_rel: float | None = None
    scale_sim3: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def compare_paths(c2w_gen: Tensor | np.ndarray, c2w_gt: Tensor | np.ndarray) -> PathErrors:
    """RotErr / TransErr of ``c2w_gen [n, 4, 4]`` (any frame and scale) against ``c2w_gt [n, 4, 4]``."""
    from ..curation.evaluation import umeyama_alignment

    gen, gt = _np(c2w_gen), _np(c2w_gt)
    if gen.shape != gt.shape or gen.ndim != 3 or gen.shape[1:] != (4, 4):
        raise ValueError(f"compare_paths: expected two [n, 4, 4] arrays of one shape, got {gen.shape} and {gt.shape}")
    n = len(gt)
    if n < 2:
        raise ValueError(f"compare_paths: needs at least 2 cameras, got {n}")
    if not (np.isfinite(gen).all() and np.isfinite(gt).all()):
        raise ValueError("compare_paths: cameras contain NaN or infinite values")
    gen_rel = np.linalg.inv(gen[0]) @ gen
    gt_rel = np.linalg.inv(gt[0]) @ gt
    rot = rotation_errors_deg(gen_rel[:, :3, :3], gt_rel[:, :3, :3])
    c_gen, c_gt = gen_rel[:, :3, 3], gt_rel[:, :3, 3]
    length = float(np.linalg.norm(np.diff(c_gt, axis=0), axis=1).sum())
    out = PathErrors(n, rot.tolist(), float(rot.sum()), float(rot.mean()), length)
    if length <= 1e-9:
        return out  # the requested camera does not move: no TransErr
    # anchored: argmin_{s >= 0} sum ||c_gt - s c_gen||^2 (a negative s would be a point reflection); a recovered
    # camera that does not move (a rotation-only or static recovery) is the error of every scale: ||c_gt||, scale 0
    gen_moves = float((c_gen**2).sum()) > 0
    s = max(0.0, float((c_gt * c_gen).sum() / (c_gen**2).sum())) if gen_moves else 0.0
    err = np.linalg.norm(c_gt - s * c_gen, axis=1)
    out.centre_err, out.TransErr, out.mean_centre_err = err.tolist(), float(err.sum()), float(err.mean())
    out.centre_err_rel, out.scale = float(err.mean() / length), s
    spread = np.linalg.norm(c_gen - c_gen.mean(0), axis=1).max()
    if n >= 3:
        # recovered centres on one point: every similarity maps them to one point, at best the requested mean
        s3, R, t = umeyama_alignment(c_gen, c_gt) if spread > 0 else (0.0, np.eye(3), c_gt.mean(0))
        err3 = np.linalg.norm(c_gen @ (s3 * R).T + t - c_gt, axis=1)
        out.centre_err_sim3, out.TransErr_sim3 = err3.tolist(), float(err3.sum())
        out.mean_centre_err_sim3, out.centre_err_sim3_rel = float(err3.mean()), float(err3.mean() / length)
        out.scale_sim3 = float(s3)
    return out
