"""A 3x4 projection matrix ``P = s K [R | t]`` (DTU's ``pos_NNN.txt``, IDR's ``world_mat``) as genxd's camera.

The decomposition is the one IDR's ``load_K_Rt_from_P`` and RegNeRF's DTU loader make with
``cv2.decomposeProjectionMatrix``, with its sign ambiguity fixed: the RQ decomposition of ``M = P[:, :3]`` is made
unique with positive diagonal of ``K`` (positive focal lengths, the OpenCV axes), the scale ``s`` of ``P``
(any non-zero number, of either sign) goes into ``K[2, 2] = 1`` and into ``R``, so that ``R`` is a rotation
(det +1); the camera centre is ``-M^-1 P[:, 3]``, which no scale of ``P`` changes.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["decompose_projection"]


def decompose_projection(P: np.ndarray, where: str = "P") -> tuple[np.ndarray, np.ndarray]:
    """``(K, c2w)`` of a 3x4 projection matrix: ``K`` 3x3 in the pixels ``P`` maps to (``K[2, 2] = 1``, positive
    focal lengths, skew kept), ``c2w`` 4x4 OpenCV camera-to-world (rotation with det +1), both float64.

    A ValueError starting with ``where`` when ``P`` is not a finite 3x4 matrix or its left 3x3 block is singular
    (no camera centre)."""
    P = np.asarray(P, dtype=np.float64)
    if P.shape != (3, 4):
        raise ValueError(f"{where}: expected a 3x4 projection matrix, got shape {list(P.shape)}")
    if not np.isfinite(P).all():
        raise ValueError(f"{where}: the projection matrix holds NaN or infinite values")
    M = P[:, :3]
    scale = np.abs(M).max()
    if scale == 0 or abs(np.linalg.det(M / scale)) < 1e-12:
        raise ValueError(f"{where}: the projection matrix's left 3x3 block is singular (not a camera)")
    K, R = scipy.linalg.rq(M)
    signs = np.sign(np.diag(K))  # none is 0: M is not singular
    K, R = K * signs, signs[:, None] * R  # K diag(s) diag(s) R = K R, now with a positive diagonal
    if np.linalg.det(R) < 0:  # P's scale is negative: M = (-K) (-R), and -R is the rotation
        R = -R
    K = K / K[2, 2]
    c2w = np.eye(4)
    c2w[:3, :3] = R.T
    c2w[:3, 3] = -np.linalg.solve(M, P[:, 3])
    return K, c2w
