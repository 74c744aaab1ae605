"""absolute_trajectory_error against a plain numpy Sim(3) ATE written as evo's ``umeyama_alignment`` (column points,
``y ~ c R x + t``, reflection fixed by det(U) det(V)) and degenerate inputs (a clear error, never NaN)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from genxd.curation.evaluation import absolute_trajectory_error


def _evo_style_ate(est: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    x, y = est.T, gt.T  # 3 x N
    mx, my = x.mean(1, keepdims=True), y.mean(1, keepdims=True)
    sigma_x = np.mean(np.linalg.norm(x - mx, axis=0) ** 2)
    u, d, v = np.linalg.svd((y - my) @ (x - mx).T / x.shape[1])
    S = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(v) < 0:
        S[2, 2] = -1
    r = u @ S @ v
    c = np.trace(np.diag(d) @ S) / sigma_x
    aligned = c * r @ x + (my - c * r @ mx)
    return float(np.sqrt(np.mean(np.sum((aligned - y) ** 2, axis=0)))), float(c)


def _c2w(centres: np.ndarray) -> np.ndarray:
    out = np.tile(np.eye(4), (len(centres), 1, 1))
    out[:, :3, 3] = centres
    return out


def test_ate_matches_a_plain_sim3_alignment_and_a_known_scale():
    rng = np.random.default_rng(5)
    gt = np.cumsum(rng.normal(size=(12, 3)), 0)
    R = Rotation.from_rotvec([0.4, -0.2, 1.3]).as_matrix()
    est = 0.25 * gt @ R.T + [3.0, 1.0, -2.0]
    exact = absolute_trajectory_error(_c2w(est), _c2w(gt))
    assert exact["rmse"] == pytest.approx(0.0, abs=1e-9) and exact["scale"] == pytest.approx(4.0)
    noisy = est + rng.normal(scale=0.1, size=est.shape)
    rmse, scale = _evo_style_ate(noisy, gt)
    got = absolute_trajectory_error(_c2w(noisy), _c2w(gt))
    assert got["rmse"] == pytest.approx(rmse, rel=1e-10) and got["scale"] == pytest.approx(scale, rel=1e-10)


def test_degenerate_trajectories_give_an_error_or_the_documented_values():
    gt = np.cumsum(np.random.default_rng(6).normal(size=(5, 3)), 0)
    bad = gt.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):  # was numpy's 'SVD did not converge'
        absolute_trajectory_error(_c2w(bad), _c2w(gt))
    with pytest.raises(ValueError, match="at least 3"):
        absolute_trajectory_error(_c2w(gt[:1]), _c2w(gt[:1]))
    still = absolute_trajectory_error(_c2w(np.zeros((5, 3))), _c2w(gt))  # the estimate does not move
    about_mean = np.linalg.norm(gt - gt.mean(0), axis=1)
    assert still["rmse"] == pytest.approx(np.sqrt((about_mean**2).mean())) and still["scale"] == 1.0
    assert absolute_trajectory_error(_c2w(gt), _c2w(np.zeros((5, 3))))["relative"] == float("inf")
