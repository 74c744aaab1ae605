"""Trajectory evaluation: similarity (Sim3, Umeyama) alignment and absolute trajectory error."""

from __future__ import annotations

import numpy as np

__all__ = ["umeyama_alignment", "absolute_trajectory_error"]


def umeyama_alignment(
    source: np.ndarray, target: np.ndarray, with_scale: bool = True
) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``target ~ s * R @ source + t`` (Umeyama 1991).

    Args:
        source, target: ``[N, 3]`` corresponding points (N >= 3, not all collinear for a unique R).
        with_scale: estimate the scale ``s`` (else ``s = 1``).
    Returns:
        ``(s, R [3, 3], t [3])``.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 3:
        raise ValueError(f"expected two [N, 3] arrays of equal shape, got {source.shape} and {target.shape}")
    if source.shape[0] < 3:
        raise ValueError(f"need at least 3 points, got {source.shape[0]}")
    if not (np.isfinite(source).all() and np.isfinite(target).all()):  # was numpy's "SVD did not converge"
        raise ValueError("umeyama_alignment: the points contain NaN or infinite values")
    mu_s, mu_t = source.mean(0), target.mean(0)
    xs, xt = source - mu_s, target - mu_t
    cov = xt.T @ xs / source.shape[0]
    U, D, Vt = np.linalg.svd(cov)
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1
    R = U @ S @ Vt
    var_s = (xs**2).sum() / source.shape[0]
    s = float(np.trace(np.diag(D) @ S) / var_s) if with_scale and var_s > 0 else 1.0
    t = mu_t - s * R @ mu_s
    return s, R, t


def absolute_trajectory_error(c2w_estimated: np.ndarray, c2w_true: np.ndarray) -> dict[str, float]:
    """ATE of camera centres after Sim3 alignment of the estimate onto the ground truth.

    Args:
        c2w_estimated, c2w_true: ``[N, 4, 4]`` camera-to-world (any consistent convention).
    Returns:
        ``rmse`` (ground-truth units), ``max``, ``trajectory_length`` (sum of ground-truth centre
        steps) and ``relative`` = rmse / trajectory_length (inf when the ground truth does not move), plus the
        alignment ``scale`` (1 when the estimated centres coincide: no scale fits them; the errors are then those
        about the ground-truth mean). Fewer than 3 cameras, or NaN / infinite centres, are a ValueError.
    """
    est = np.asarray(c2w_estimated, dtype=np.float64)[:, :3, 3]
    gt = np.asarray(c2w_true, dtype=np.float64)[:, :3, 3]
    s, R, t = umeyama_alignment(est, gt)
    aligned = est @ (s * R).T + t
    err = np.linalg.norm(aligned - gt, axis=1)
    length = float(np.linalg.norm(np.diff(gt, axis=0), axis=1).sum())
    rmse = float(np.sqrt((err**2).mean()))
    return {
        "rmse": rmse,
        "max": float(err.max()),
        "trajectory_length": length,
        "relative": rmse / length if length > 0 else float("inf"),
        "scale": float(s),
    }
