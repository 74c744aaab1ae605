"""The fit of a clip's tracks by cameras that do not turn: every camera keeps one orientation, its centre and the 3D
points move (used by :func:`genxd.cameras.video_sfm.fit_without_turning`).

The problem is a bundle adjustment with the rotations held: ``3 (n - 1) - 1`` centre coordinates (the first centre
and one coordinate of the last are held: gauge and scale) and ``3 m`` point coordinates. It is solved by
Levenberg-Marquardt on the Schur complement of the points (each point's 3 x 3 block is inverted on its own, leaving a
small dense system in the centres), as bundle adjusters do; a generic sparse solver (scipy's ``least_squares`` with
LSMR, used before) needs hundreds of Krylov iterations per step on this system, and took 6-40 s on a 32-frame
clip where this takes well under a second (docs/benchmarks/camera_paths.md, "The no-turn fit's solver").

Convention: rotations are world-to-camera (``R0`` maps world directions into the camera, OpenCV axes: x right, y down,
z forward); ``rays`` are observations on the normalised image plane (``(x - cx) / fx``, ...); residuals are in pixels
(``focal`` x the normalised-plane difference), each robustified by soft-L1 with a 1-pixel scale
(``2 (sqrt(1 + r^2) - 1)``, scipy's ``loss="soft_l1"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FixedRotationFit", "fit_fixed_rotation", "MAX_ITERATIONS"]

#: Levenberg-Marquardt iterations at most (the benchmark's forward and dolly clips converge in 10-60).
MAX_ITERATIONS = 200
#: Stop when an accepted step lowers the cost by less than this fraction of it (scipy's default ``ftol``), or moves no
#: centre by more than this fraction of the path's extent: the centres settle within 15-50 iterations, while far points
#: with little parallax can creep along their rays for hundreds more (cost 1e-6 lower a step) without moving them.
COST_TOLERANCE = 1e-8
CENTRE_TOLERANCE = 1e-7
_MIN_DEPTH = 1e-9  # a point on or behind a camera's plane is projected from this depth (as before)
_DENSE_COUPLING_ENTRIES = 8_000_000  # H [3n, 3m] held dense up to 64 MB (48 frames, 18,000 points), else sparse


@dataclass
class FixedRotationFit:
    """Result of :func:`fit_fixed_rotation`: centres ``[n, 3]`` and points ``[m, 3]`` (world), the final robust cost
    (``0.5 * sum rho(r^2)`` over the pixel residuals), the iterations run and whether the cost tolerance was met."""

    centres: np.ndarray
    points: np.ndarray
    cost: float
    iterations: int
    converged: bool


def _robust_cost(residuals: np.ndarray) -> float:
    return float(np.sum(np.sqrt(1.0 + residuals**2) - 1.0))  # 0.5 * sum 2 (sqrt(1 + r^2) - 1)


def _project(R0, centres, points, cam_index, point_index):
    p = (points[point_index] - centres[cam_index]) @ R0.T
    z = np.where(np.abs(p[:, 2]) < _MIN_DEPTH, _MIN_DEPTH, p[:, 2])
    return p, z


def fit_fixed_rotation(R0: np.ndarray, rays: np.ndarray, cam_index: np.ndarray, point_index: np.ndarray,
                       centres: np.ndarray, points: np.ndarray, focal: float, scale_axis: int,
                       max_iterations: int = MAX_ITERATIONS) -> FixedRotationFit:
    """Robust least-squares fit of camera centres and 3D points with every camera at world-to-camera rotation ``R0``.

    Args:
        R0: ``[3, 3]`` world-to-camera rotation shared by all cameras.
        rays: ``[M, 2]`` observations on the normalised image plane.
        cam_index, point_index: ``[M]`` camera (0 .. n - 1) and point (0 .. m - 1) of each observation.
        centres: ``[n, 3]`` starting centres; ``centres[0]`` and ``centres[-1, scale_axis]`` are held.
        points: ``[m, 3]`` starting points.
        focal: pixels per unit of the normalised image plane (residuals are in pixels).
        scale_axis: the coordinate of the last centre that is held (the scale).
    """
    from scipy.sparse import csr_matrix

    centres, points = np.array(centres, np.float64), np.array(points, np.float64)
    rays = np.asarray(rays, np.float64)
    cam_index, point_index = np.asarray(cam_index, np.int64), np.asarray(point_index, np.int64)
    n, m, M = len(centres), len(points), len(rays)
    ones = np.ones(M)
    to_point = csr_matrix((ones, (point_index, np.arange(M))), shape=(m, M))  # sums over each point's observations
    to_camera = csr_matrix((ones, (cam_index, np.arange(M))), shape=(n, M))  # ... over each camera's
    # the centres' coupling through the points, sum_j W_j V_j^-1 W_j^T, is H H^T with H [3n, 3m] holding each
    # observation's block B_i L_j (V_j^-1 = L_j L_j^T) at (camera, point): its sparsity is fixed
    rows = (3 * cam_index[:, None, None] + np.arange(3)[None, :, None]).repeat(3, axis=2).ravel()
    cols = (3 * point_index[:, None, None] + np.arange(3)[None, None, :]).repeat(3, axis=1).ravel()
    flat = rows * (3 * m) + cols
    free = np.ones(3 * n, bool)
    free[:3] = False
    free[3 * (n - 1) + scale_axis] = False
    eye = np.eye(3)

    def residuals_at(c, X):
        p, z = _project(R0, c, X, cam_index, point_index)
        return focal * (p[:, :2] / z[:, None] - rays), p, z

    r, p, z = residuals_at(centres, points)
    cost = _robust_cost(r)
    extent = max(float(np.abs(centres - centres[0]).max()), 1e-12)
    damping, iterations, converged = 1e-3, 0, False
    while iterations < max_iterations and not converged:
        iterations += 1
        d_proj = np.zeros((M, 2, 3))
        d_proj[:, 0, 0] = d_proj[:, 1, 1] = 1.0 / z
        d_proj[:, 0, 2], d_proj[:, 1, 2] = -p[:, 0] / z**2, -p[:, 1] / z**2
        A = focal * d_proj @ R0  # d residual / d point; d residual / d centre = -A
        w = 1.0 / np.sqrt(1.0 + r**2)  # soft-L1 weights (iteratively reweighted least squares)
        Aw = A * w[:, :, None]
        B = Aw.transpose(0, 2, 1) @ A  # [M, 3, 3]: J^T W J of one observation
        g_obs = (Aw * r[:, :, None]).sum(axis=1)  # its gradient on its point (on its centre: minus that)
        V = (to_point @ B.reshape(M, 9)).reshape(m, 3, 3)
        gX = to_point @ g_obs
        U = (to_camera @ B.reshape(M, 9)).reshape(n, 3, 3)
        gC = -(to_camera @ g_obs)
        while True:
            Vinv = np.linalg.inv(V + damping * (V * eye) + 1e-12 * eye)
            try:
                L = np.linalg.cholesky(Vinv)
            except np.linalg.LinAlgError:  # a point seen along one line only: damp more
                damping *= 10.0
                if damping > 1e12:
                    break
                continue
            blocks = (B @ L[point_index]).ravel()
            if 9 * n * m <= _DENSE_COUPLING_ENTRIES:  # dense H: one GEMM (8x faster at 32 frames, 389 points)
                H = np.bincount(flat, weights=blocks, minlength=9 * n * m).reshape(3 * n, 3 * m)
                S = -(H @ H.T)
            else:
                H = csr_matrix((blocks, (rows, cols)), shape=(3 * n, 3 * m))
                S = -(H @ H.T).toarray()
            Ud = U + damping * (U * eye)
            for k in range(n):
                S[3 * k:3 * k + 3, 3 * k:3 * k + 3] += Ud[k]
            Vinv_gX = np.einsum("mij,mj->mi", Vinv, gX)
            rhs = (-gC - to_camera @ np.einsum("mij,mj->mi", B, Vinv_gX[point_index])).ravel()
            step_c: np.ndarray = np.zeros(3 * n)  # [3N], then [N, 3]
            try:
                step_c[free] = np.linalg.solve(S[np.ix_(free, free)], rhs[free])
            except np.linalg.LinAlgError:
                damping *= 10.0
                if damping > 1e12:
                    break
                continue
            step_c = step_c.reshape(n, 3)
            back = to_point @ np.einsum("mij,mj->mi", B, step_c[cam_index])
            step_X = np.einsum("mij,mj->mi", Vinv, -gX + back)
            new_c, new_X = centres + step_c, points + step_X
            new_r, new_p, new_z = residuals_at(new_c, new_X)
            new_cost = _robust_cost(new_r)
            if np.isfinite(new_cost) and new_cost <= cost:
                converged = (cost - new_cost <= COST_TOLERANCE * cost
                             or float(np.abs(step_c).max()) <= CENTRE_TOLERANCE * extent)
                centres, points, r, p, z, cost = new_c, new_X, new_r, new_p, new_z, new_cost
                damping = max(damping / 3.0, 1e-12)
                break
            damping *= 4.0
            if damping > 1e12:  # no step lowers the cost: a minimum (to the solver's precision)
                converged = True
                break
        if damping > 1e12:
            break
    return FixedRotationFit(centres, points, cost, iterations, converged)
