"""The no-turn fit's solver (``genxd.cameras.no_turn_fit``) against the truth and against scipy's least squares."""

from __future__ import annotations

import numpy as np
import pytest

from genxd.cameras.no_turn_fit import fit_fixed_rotation


def _problem(seed: int, n: int = 12, m: int = 150, noise_px: float = 0.2, outliers: float = 0.05, focal: float = 200.0):
    """A camera moving forward (+z, with some sideways drift), never turning, seeing points ahead of it; each point
    seen by a run of consecutive frames (as KLT tracks are). Returns the truth and the observations."""
    rng = np.random.default_rng(seed)
    yaw = rng.uniform(-0.3, 0.3)
    R0 = np.array([[np.cos(yaw), 0, -np.sin(yaw)], [0, 1, 0], [np.sin(yaw), 0, np.cos(yaw)]])  # world -> camera
    forward = R0.T @ np.array([0.0, 0.0, 1.0])
    centres = np.outer(np.linspace(0, 1.5, n), forward) + rng.normal(0, 0.03, (n, 3))
    in_camera = np.stack([rng.uniform(-2, 2, m), rng.uniform(-1.5, 1.5, m), rng.uniform(3, 12, m)], axis=1)
    points = centres[0] + in_camera @ R0
    cam, pt = [], []
    for j in range(m):
        first = rng.integers(0, n - 3)
        for k in range(first, min(n, first + rng.integers(3, 9))):
            cam.append(k)
            pt.append(j)
    cam, pt = np.array(cam), np.array(pt)
    p = (points[pt] - centres[cam]) @ R0.T
    rays = p[:, :2] / p[:, 2:] + rng.normal(0, noise_px / focal, (len(cam), 2))
    bad = rng.random(len(cam)) < outliers  # mis-tracked points, tens of pixels off
    rays[bad] += rng.normal(0, 30 / focal, (bad.sum(), 2))
    return R0, rays, cam, pt, centres, points, focal


def _start(centres, points, seed):
    rng = np.random.default_rng(seed + 100)
    start_c = centres + rng.normal(0, 0.05, centres.shape)
    start_c[0] = centres[0]
    axis = int(np.argmax(np.abs(centres[-1] - centres[0])))
    start_c[-1, axis] = centres[-1, axis]  # the gauge the fit holds: first centre, one coordinate of the last
    return start_c, points * (1 + rng.normal(0, 0.03, points.shape)), axis


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_the_cameras_of_a_forward_path(seed):
    path_of = lambda c: np.linalg.norm(c[-1] - c[0])  # noqa: E731
    # exact rays: exact cameras (measured: converged in 8-9 iterations, error 0)
    R0, rays, cam, pt, centres, points, focal = _problem(seed, noise_px=0.0, outliers=0.0)
    start_c, start_X, axis = _start(centres, points, seed)
    fit = fit_fixed_rotation(R0, rays, cam, pt, start_c, start_X, focal, axis)
    assert fit.converged and np.abs(fit.centres - centres).max() < 1e-6 * path_of(centres)
    assert np.abs(start_c - centres).max() > 0.02  # the start was 0.05 off
    assert np.allclose(fit.centres[0], centres[0]) and fit.centres[-1, axis] == pytest.approx(centres[-1, axis])
    # 0.2 px noise: within 2 % of the path (measured 0.40 - 0.54 %)
    R0, rays, cam, pt, centres, points, focal = _problem(seed, noise_px=0.2, outliers=0.0)
    fit = fit_fixed_rotation(R0, rays, cam, pt, start_c, start_X, focal, axis)
    assert fit.converged and np.abs(fit.centres - centres).max() < 0.02 * path_of(centres)
    # 5 % of the rays 30 px off: soft-L1 is not blind to them (the cameras drift 0.5 - 10 % of the path on these
    # short tracks), but the fit is a minimum: its cost is below the truth's (measured 5 - 8 % below)
    R0, rays, cam, pt, centres, points, focal = _problem(seed)
    fit = fit_fixed_rotation(R0, rays, cam, pt, start_c, start_X, focal, axis)
    p = (points[pt] - centres[cam]) @ R0.T
    truth_cost = float(np.sum(np.sqrt(1 + (focal * (p[:, :2] / p[:, 2:] - rays)) ** 2) - 1))
    assert fit.converged and fit.cost < truth_cost


def test_reaches_the_minimum_scipy_reaches():
    """Same robust objective (soft-L1, 1 px) as scipy's ``least_squares(loss="soft_l1")`` run to convergence with
    the scale held exactly: the same cost and the same cameras."""
    from scipy.optimize import least_squares

    R0, rays, cam, pt, centres, points, focal = _problem(5, n=8, m=60)
    start_c, start_X, axis = _start(centres, points, 5)
    n, m = len(centres), len(points)
    fixed_value = start_c[-1, axis]
    free_last = [a for a in range(3) if a != axis]

    def unpack(x):
        c = np.empty((n, 3))
        c[0] = start_c[0]
        c[1:-1] = x[:3 * (n - 2)].reshape(n - 2, 3)
        c[-1, free_last], c[-1, axis] = x[3 * (n - 2):3 * (n - 2) + 2], fixed_value
        return c, x[3 * (n - 2) + 2:].reshape(m, 3)

    def residuals(x):
        c, X = unpack(x)
        p = (X[pt] - c[cam]) @ R0.T
        return ((p[:, :2] / p[:, 2:] - rays) * focal).ravel()

    x0 = np.concatenate([start_c[1:-1].ravel(), start_c[-1, free_last], start_X.ravel()])
    ref = least_squares(residuals, x0, loss="soft_l1", f_scale=1.0, method="trf", xtol=1e-12, ftol=1e-12,
                        gtol=1e-12, max_nfev=2000)
    ref_c, _ = unpack(ref.x)
    fit = fit_fixed_rotation(R0, rays, cam, pt, start_c, start_X, focal, axis)
    assert fit.cost == pytest.approx(ref.cost, rel=1e-6)
    path = np.linalg.norm(centres[-1] - centres[0])
    assert np.abs(fit.centres - ref_c).max() < 1e-4 * path


def test_a_degenerate_problem_returns_its_start():
    """Every ray exactly explained already: nothing to gain; the fit stops at once with the start unchanged."""
    R0, rays, cam, pt, centres, points, focal = _problem(3, noise_px=0.0, outliers=0.0)
    axis = int(np.argmax(np.abs(centres[-1] - centres[0])))
    fit = fit_fixed_rotation(R0, rays, cam, pt, centres, points, focal, axis)
    assert fit.converged and fit.cost < 1e-12
    assert np.allclose(fit.centres, centres) and np.allclose(fit.points, points)
