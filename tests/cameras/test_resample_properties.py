"""genxd.cameras.resample: properties the accuracy tests left open (found by hand-made mutation testing, round 4):
the ends kept exactly, one frame, a one-step move between stops, the smoothing's Gaussian and its frame, lengths."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from genxd.cameras.resample import angular_length, path_length, resample_path, smooth_path


def _poses(rotvecs_deg, centres) -> torch.Tensor:
    c2w = torch.eye(4, dtype=torch.float64).repeat(len(centres), 1, 1)
    c2w[:, :3, :3] = torch.from_numpy(Rotation.from_rotvec(np.radians(np.asarray(rotvecs_deg, float))).as_matrix())
    c2w[:, :3, 3] = torch.as_tensor(np.asarray(centres, float), dtype=torch.float64)
    return c2w


def _turning_path(n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = np.linspace(0, 1, n)
    c2w = _poses(np.stack([17 * s, 40 * s + 3, -11 * s], 1), np.stack([s ** 2, 0.3 * s, -s], 1))
    K = torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)
    K[:, 0, 0] = torch.linspace(1.0, 2.0, n, dtype=torch.float64)
    return c2w, K, torch.from_numpy(s)


def test_the_first_and_last_keyframes_are_kept_to_the_bit():
    """The docstring's "kept exactly": slerp and the spline at the end times give them back only to rounding."""
    c2w, K, t = _turning_path()
    for spacing in ("time", "arc"):
        out, Kout, times = resample_path(c2w, K, t, 9, spacing)
        assert torch.equal(out[0], c2w[0]) and torch.equal(out[-1], c2w[-1]), spacing
        assert float(times[0]) == float(t[0]) and float(times[-1]) == float(t[-1]), spacing


def test_one_frame_is_the_first_keyframe_at_its_time():
    """``num_frames=1`` of a path of several keyframes: the first camera, its intrinsics and time (not the last
    camera, which keeping both ends of a one-frame result would give)."""
    c2w, K, t = _turning_path()
    out, Kout, times = resample_path(c2w, K, t, 1, "arc")
    assert torch.equal(out[0], c2w[0]) and torch.equal(Kout[0], K[0]) and times.tolist() == [0.0]


def test_arc_spacing_of_a_path_that_starts_and_ends_standing_still_keeps_the_clip_ends():
    """The arc length is flat over a stop at either end; the samples' times still start at the first keyframe's
    time and end at the last's (interpolating the flat part alone gives the end of the stop)."""
    z = [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 1.5, 1.5]
    c2w = _poses([[0, 5 * i, 0] for i in range(len(z))], [[0, 0, v] for v in z])
    K = torch.eye(3, dtype=torch.float64).repeat(len(z), 1, 1)
    t = torch.linspace(0, 1, len(z), dtype=torch.float64)
    _, _, times = resample_path(c2w, K, t, 7, "arc")
    assert float(times[0]) == 0.0 and float(times[-1]) == 1.0, times.tolist()


def test_a_single_moving_step_between_stops_is_interpolated():
    """Stops on both sides of one moving interval: that interval is a run of its own (a line), not held still."""
    z = [0.0, 0.0, 1.0, 1.0]
    c2w = _poses([[0, 0, 0]] * 4, [[0, 0, v] for v in z])
    K = torch.eye(3, dtype=torch.float64).repeat(4, 1, 1)
    t = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    out, _, times = resample_path(c2w, K, t, 7, "time")  # times 0, 0.5, ..., 3
    np.testing.assert_allclose(out[:, 2, 3].numpy(), np.clip(times.numpy() - 1, 0, 1), atol=1e-12)


def test_smoothing_a_spike_weights_by_a_gaussian_of_sigma_frames():
    """One centre moved by 1 among still ones: by symmetry the local-linear fit at the spike is the weighted mean,
    1 / sum_j exp(-j^2 / (2 sigma^2)) (weights below 1e-6 dropped, as the code does)."""
    n, sigma = 21, 2.0
    centres = np.zeros((n, 3))
    centres[n // 2, 0] = 1.0
    out = smooth_path(_poses(np.zeros((n, 3)), centres), sigma)
    w = np.exp(-0.5 * (np.arange(-(n // 2), n // 2 + 1) / sigma) ** 2)
    w[w < 1e-6] = 0.0
    assert abs(float(out[n // 2, 0, 3]) - 1 / w.sum()) < 1e-12, (float(out[n // 2, 0, 3]), 1 / w.sum())


def test_smoothing_does_not_depend_on_the_world_frame():
    """A world rotation G (c2w -> G c2w) commutes with the smoothing: the rotations are smoothed in each camera's
    own tangent space (R_i exp(v)), not in the world's (exp(v) R_i)."""
    rng = np.random.default_rng(0)
    n = 12
    rotvecs = np.stack([np.linspace(0, 30, n), np.linspace(0, 50, n), np.zeros(n)], 1) + rng.normal(0, 2, (n, 3))
    c2w = _poses(rotvecs, rng.normal(0, 0.1, (n, 3)) + np.linspace(0, 1, n)[:, None])
    G = torch.eye(4, dtype=torch.float64)
    G[:3, :3] = torch.from_numpy(Rotation.from_rotvec([0.4, -0.9, 0.3]).as_matrix())
    torch.testing.assert_close(smooth_path(G @ c2w, 2.0), G @ smooth_path(c2w, 2.0), atol=1e-10, rtol=0)


def test_path_and_angular_lengths_are_sums_of_the_steps():
    c2w = _poses([[0, 10 * i, 0] for i in range(5)], [[3 * i, 4 * i, 0] for i in range(5)])
    assert abs(angular_length(c2w) - 40.0) < 1e-9 and abs(path_length(c2w) - 20.0) < 1e-12
    assert angular_length(c2w[:1]) == 0.0 and path_length(c2w[:1]) == 0.0
