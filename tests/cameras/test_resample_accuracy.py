"""genxd.cameras.resample (slerp + spline, arc / time spacing, smoothing) and genxd.cameras.accuracy
(CameraCtrl's RotErr / TransErr after alignment)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genxd.cameras import intrinsics_from_focal, look_at, trajectories
from genxd.cameras.accuracy import compare_paths, rotation_errors_deg
from genxd.cameras.resample import angular_length, path_length, relative_to_first, resample_path, smooth_path


def _poses(rotvecs_deg, centres) -> torch.Tensor:
    c2w = torch.eye(4, dtype=torch.float64).repeat(len(centres), 1, 1)
    c2w[:, :3, :3] = torch.from_numpy(Rotation.from_rotvec(np.radians(rotvecs_deg)).as_matrix())
    c2w[:, :3, 3] = torch.as_tensor(centres, dtype=torch.float64)
    return c2w


def test_resample_keeps_ends_interpolates_by_slerp_and_spacing_follows_time_or_arc():
    # camera accelerating along x (x = t^2) while turning 40 degrees about y at a constant rate
    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    c2w = _poses([[0, 40 * float(s), 0] for s in t], [[float(s) ** 2, 0, 0] for s in t])
    K = intrinsics_from_focal(torch.linspace(1.0, 2.0, 6)).double()
    out, Kout, times = resample_path(c2w, K, t, 11, "time")
    torch.testing.assert_close(out[[0, -1]], c2w[[0, -1]])
    torch.testing.assert_close(times, torch.linspace(0, 1, 11, dtype=torch.float64))
    angles = Rotation.from_matrix(out[:, :3, :3].numpy()).as_rotvec()[:, 1]
    np.testing.assert_allclose(np.degrees(angles), 40 * times.numpy(), atol=1e-9)  # slerp: constant rate
    np.testing.assert_allclose(out[:, 0, 3].numpy(), times.numpy() ** 2, atol=1e-9)  # the spline is exact on x = t^2
    np.testing.assert_allclose(Kout[:, 0, 0].numpy(), 1.0 + times.numpy(), atol=1e-9)
    arc, _, arc_times = resample_path(c2w, K, t, 11, "arc")
    steps = np.diff(arc[:, 0, 3].numpy())
    np.testing.assert_allclose(steps, steps.mean(), rtol=1e-3)  # equal distances along the path
    np.testing.assert_allclose(arc_times.numpy(), np.sqrt(np.linspace(0, 1, 11)), atol=1e-3)  # clip time of each
    # no translation: arc spacing falls back to the angle turned
    turn = _poses([[0, 90 * float(s) ** 2, 0] for s in t], [[0, 0, 0]] * 6)
    rot, _, _ = resample_path(turn, K, t, 5, "arc")
    step_deg = np.degrees((Rotation.from_matrix(rot[:-1, :3, :3].numpy()).inv()
                           * Rotation.from_matrix(rot[1:, :3, :3].numpy())).magnitude())
    np.testing.assert_allclose(step_deg, 22.5, rtol=1e-3)


def test_resample_bad_inputs():
    c2w, K = trajectories.orbit(num_frames=4)
    with pytest.raises(ValueError, match="increase"):
        resample_path(c2w.double(), K.double(), torch.tensor([0.0, 0.5, 0.5, 1.0]), 5)
    with pytest.raises(ValueError, match="spacing"):
        resample_path(c2w.double(), K.double(), torch.linspace(0, 1, 4), 5, "even")
    one, _, times = resample_path(c2w[:1].double(), K[:1].double(), torch.zeros(1), 3)
    assert one.shape == (3, 4, 4) and times.tolist() == [0.0, 0.0, 0.0]


def test_smoothing_removes_jitter_and_keeps_a_straight_path():
    n = 40
    rng = np.random.default_rng(0)
    straight = _poses([[0, 0, 0]] * n, [[0, 0, 0.1 * i] for i in range(n)])
    torch.testing.assert_close(smooth_path(straight, 3.0), straight, atol=1e-12, rtol=0)
    shaky = _poses(rng.normal(0, 1.0, (n, 3)), [[0.02 * rng.normal(), 0, 0.1 * i] for i in range(n)])
    smooth = smooth_path(shaky, 3.0)
    assert angular_length(smooth) < 0.3 * angular_length(shaky)
    assert path_length(smooth) < path_length(shaky)
    assert torch.allclose(relative_to_first(smooth)[0], torch.eye(4, dtype=torch.float64))


def test_rot_err_is_camerctrl_formula():
    R_gt = torch.from_numpy(Rotation.from_rotvec([[0, 0, 0], [0, 0.2, 0]]).as_matrix())
    R_gen = torch.from_numpy(Rotation.from_rotvec([[0, 0, 0], [0, 0.2 + math.radians(10), 0]]).as_matrix())
    trace = torch.einsum("nij,nji->n", R_gen, R_gt.transpose(1, 2))
    expected = torch.rad2deg(torch.arccos((trace - 1) / 2)).numpy()
    np.testing.assert_allclose(rotation_errors_deg(R_gen, R_gt), expected, atol=1e-9)
    np.testing.assert_allclose(rotation_errors_deg(R_gen, R_gt), [0.0, 10.0], atol=1e-9)


def test_compare_paths_alignment_scale_and_perturbations():
    eyes = torch.tensor([[math.cos(a) * 3, 0.5, math.sin(a) * 3] for a in np.linspace(0, 1.2, 9)], dtype=torch.float64)
    gt = look_at(eyes, torch.zeros(3, dtype=torch.float64))
    # the same path in another world frame and scale (what SfM gives): no error, scale recovered
    S = torch.eye(4, dtype=torch.float64)
    S[:3, :3] = torch.from_numpy(Rotation.from_rotvec([0.3, -1.0, 0.5]).as_matrix())
    S[:3, 3] = torch.tensor([5.0, -2.0, 1.0])
    moved = S @ gt
    moved[:, :3, 3] *= 0.25
    e = compare_paths(moved, gt)
    assert e.RotErr < 1e-9 and e.TransErr < 1e-9 and e.TransErr_sim3 < 1e-9
    assert e.scale == pytest.approx(4.0) and e.scale_sim3 == pytest.approx(4.0)
    assert e.path_length == pytest.approx(path_length(relative_to_first(gt)))
    # a known turn of each camera about its own y axis: RotErr is the sum of the turns
    turns = np.linspace(0, 8, 9)
    bent = gt.clone()
    bent[:, :3, :3] = bent[:, :3, :3] @ torch.from_numpy(Rotation.from_euler("y", turns[:, None], degrees=True).as_matrix())
    e = compare_paths(bent, gt)
    np.testing.assert_allclose(e.rot_err_deg, turns, atol=1e-9)
    assert e.RotErr == pytest.approx(turns.sum()) and e.TransErr < 1e-9
    # a path that goes the other way: the anchored alignment sees it, a free similarity partly forgives it
    mirrored = gt.clone()
    mirrored[:, :3, 3] = 2 * gt[:1, :3, 3] - gt[:, :3, 3]
    e = compare_paths(mirrored, gt)
    assert e.centre_err_rel > 0.3 and e.centre_err_sim3_rel < e.centre_err_rel
    # no translation: no TransErr
    still = torch.eye(4, dtype=torch.float64).repeat(4, 1, 1)
    e = compare_paths(still, still)
    assert e.TransErr is None and e.RotErr == 0.0
    with pytest.raises(ValueError, match="NaN"):
        compare_paths(torch.full((3, 4, 4), float("nan")), gt[:3])


def test_a_path_that_stops_stands_still_and_never_steps_back():
    """A forward clip whose camera stopped for 8 frames (from-video's still frames copy the camera): the cubic spline
    overshot around the stop, 9 of 59 steps going backwards (8.5 % of a keyframe step) with --spacing time."""
    from genxd.cameras.resample import resample_path

    order = list(range(8)) + [7] * 8 + list(range(8, 20))
    c2w = torch.eye(4, dtype=torch.float64).repeat(len(order), 1, 1)
    c2w[:, 2, 3] = 0.1 * torch.tensor(order, dtype=torch.float64)
    K = torch.eye(3, dtype=torch.float64).repeat(len(order), 1, 1)
    t = torch.linspace(0, 1, len(order), dtype=torch.float64)
    for spacing in ("time", "arc"):
        out, _, ts = resample_path(c2w, K, t, 60, spacing=spacing)
        z = out[:, 2, 3].numpy()
        assert (np.diff(z) >= -1e-12).all(), (spacing, np.diff(z).min())
        if spacing == "time":  # within the stop (keyframes 7-15) the camera is where it stopped
            inside = (ts.numpy() >= 7 / 27) & (ts.numpy() <= 15 / 27)
            assert inside.sum() >= 15 and np.allclose(z[inside], 0.7, atol=1e-12), z[inside]


def test_a_stop_leaves_the_rest_of_the_path_as_it_was():
    """A half orbit of 20 keyframes with a 3-frame stop at keyframe 9: PCHIP through the whole path (taken whenever a
    path stopped) bent it everywhere, 160 x the no-stop path's radial error and steps varying 1.87 x far from the
    stop; each moving part keeps the cubic spline now, and the stop stands still."""
    angles = np.linspace(0, np.pi, 20)
    stopped = np.r_[angles[:10], [angles[9]] * 3, angles[10:]]

    def orbit(a: np.ndarray) -> torch.Tensor:
        centres = np.stack([2 * np.sin(a), np.zeros_like(a), 2 - 2 * np.cos(a)], 1)
        return _poses(np.stack([np.zeros_like(a), -np.degrees(a), np.zeros_like(a)], 1), centres)

    def resampled(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, _, ts = resample_path(orbit(a), torch.eye(3, dtype=torch.float64).repeat(len(a), 1, 1),
                                   torch.linspace(0, 1, len(a), dtype=torch.float64), 200, "time")
        return out[:, :3, 3].numpy(), ts.numpy()

    plain, _ = resampled(angles)
    centres, ts = resampled(stopped)
    radial = lambda p: np.abs(np.hypot(p[:, 0], p[:, 2] - 2) - 2)  # noqa: E731 (distance from the orbit)
    assert radial(centres).max() <= 2 * radial(plain).max() + 1e-9, (radial(centres).max(), radial(plain).max())
    steps = np.linalg.norm(np.diff(centres[:80], axis=0), axis=1)  # far from the stop (keyframes 0-6 of 22)
    assert steps.max() / steps.min() < 1.01, steps.max() / steps.min()
    inside = (ts >= 9 / 22) & (ts <= 12 / 22)  # the stop: where the camera stopped
    assert inside.sum() >= 20 and np.allclose(centres[inside], centres[inside][0], atol=1e-12)
