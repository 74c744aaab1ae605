"""genxd.cameras.trajectories: properties the preset tests left open (found by hand-made mutation testing, round 4):
the hand-held jitter's frame and default turn, and scale_translations keeping the rotations."""

from __future__ import annotations

import torch
from scipy.spatial.transform import Rotation

from genxd.cameras import trajectories


def _world_rotation() -> torch.Tensor:
    G = torch.eye(4, dtype=torch.float64)
    G[:3, :3] = torch.from_numpy(Rotation.from_rotvec([0.3, -1.1, 0.5]).as_matrix())
    return G


def test_handheld_jitter_moves_each_camera_in_its_own_frame():
    """``c2w[i] @ delta_i``: turning the whole world (c2w -> G c2w) turns the jittered path the same way. A
    perturbation in the world's frame (``delta_i @ c2w[i]``) does not; on a dolly (no rotation) the two agree."""
    c2w, _ = trajectories.orbit(num_frames=10)
    G = _world_rotation()
    jittered = trajectories.handheld_jitter(G @ c2w.double(), amplitude=0.05, seed=1).double()
    expected = G @ trajectories.handheld_jitter(c2w, amplitude=0.05, seed=1).double()
    torch.testing.assert_close(jittered, expected, atol=1e-5, rtol=0)  # float32 output: ~1e-7 apart here


def test_handheld_jitter_turns_amplitude_x_30_degrees_by_default():
    """The docstring's default: ``rotation_deg = amplitude * 30`` (0.3 degrees for amplitude 0.01)."""
    c2w, _ = trajectories.dolly(num_frames=20)
    default = trajectories.handheld_jitter(c2w, amplitude=0.01, seed=2)
    assert torch.equal(default, trajectories.handheld_jitter(c2w, amplitude=0.01, seed=2, rotation_deg=0.3))
    assert not torch.allclose(default, trajectories.handheld_jitter(c2w, amplitude=0.01, seed=2, rotation_deg=0.03))


def test_scale_translations_scales_the_positions_only():
    c2w, _ = trajectories.orbit(num_frames=6)
    out = trajectories.scale_translations(c2w, 0.5)
    assert torch.equal(out[:, :3, :3], c2w[:, :3, :3]) and torch.equal(out[:, 3], c2w[:, 3])
    torch.testing.assert_close(out[:, :3, 3], 0.5 * c2w[:, :3, 3], atol=0, rtol=0)
