"""genxd.cameras.trajectories: the authors' orbit/forward modes and the other camera moves."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import (
    PRESETS,
    check_rigid,
    dolly,
    forward,
    handheld_jitter,
    interpolate,
    look_at,
    make_trajectory,
    orbit,
    pan,
    project_points,
    spiral,
    static,
    zoom,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "authors_reference.json").read_text())


def w2c34(c2w: torch.Tensor) -> np.ndarray:
    return torch.linalg.inv(c2w.double())[:, :3].numpy()


def assert_looks_at(c2w: torch.Tensor, point: torch.Tensor, atol: float = 1e-5) -> None:
    """Every camera's optical axis passes through ``point`` (in front of it)."""
    to_point = point.double() - c2w[:, :3, 3].double()
    direction = to_point / to_point.norm(dim=-1, keepdim=True)
    assert torch.allclose(c2w[:, :3, 2].double(), direction, atol=atol)


# --- the authors' modes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, kwargs",
    [
        ("orbit_e15_a0_360_r2_n12_w2c", dict(num_frames=12, elevation=15, azimuth_range=(0, 360), radius=2)),
        ("orbit_e0_a30_90_r1.5_n8_w2c", dict(num_frames=8, elevation=0, azimuth_range=(30, 90), radius=1.5)),
        (
            "orbit_consistent4d_e0_a15_345_r2_n12_w2c",
            dict(num_frames=12, elevation=0, azimuth_range=(15, 345), radius=2, consistent4d=True),
        ),
    ],
)
def test_orbit_world_frame_matches_authors(key, kwargs):
    c2w, K = orbit(frame="world", **kwargs)
    assert c2w.dtype == torch.float32 and K.shape == (kwargs["num_frames"], 3, 3)
    np.testing.assert_allclose(w2c34(c2w), np.array(REFERENCE[key]), atol=1e-5)


def test_forward_world_frame_matches_authors():
    c2w, _ = forward(num_frames=12, elevation=10, azimuth_range=(-30, 30), radius=2, frame="world")
    np.testing.assert_allclose(w2c34(c2w), np.array(REFERENCE["forward_e10_a-30_30_r2_n12_w2c"]), atol=1e-5)


def test_orbit_looks_at_target_keeps_radius_and_spans_azimuths():
    n, radius, elevation = 10, 2.5, 20.0
    c2w, K = orbit(num_frames=n, elevation=elevation, azimuth_range=(-40, 80), radius=radius, focal=1.2)
    assert torch.allclose(c2w[0], torch.eye(4), atol=1e-6)  # relative to the first (input) camera
    check_rigid(c2w)
    target = torch.tensor([0.0, 0.0, radius])  # straight ahead of the first camera
    assert_looks_at(c2w, target)
    assert torch.allclose((c2w[:, :3, 3] - target).norm(dim=-1), torch.full((n,), radius), atol=1e-5)
    assert torch.allclose(K[:, 0, 0], torch.full((n,), 1.2)) and torch.allclose(K[:, :2, 2], torch.full((n, 2), 0.5))
    # Azimuths recovered in the authors' world frame: evenly spaced from -40, end (80) excluded.
    world, _ = orbit(num_frames=n, elevation=elevation, azimuth_range=(-40, 80), radius=radius, frame="world")
    pos = world[:, :3, 3].double()
    az = torch.rad2deg(torch.atan2(pos[:, 0], pos[:, 1]))
    el = torch.rad2deg(torch.asin(pos[:, 2] / radius))
    assert torch.allclose(az, torch.linspace(-40, 80, n + 1, dtype=torch.float64)[:-1], atol=1e-4)
    assert torch.allclose(el, torch.full((n,), elevation, dtype=torch.float64), atol=1e-4)
    # Full circle: 360 degrees in N equal steps, no duplicated end point.
    full, _ = orbit(num_frames=12, frame="world")
    steps = torch.rad2deg(torch.atan2(full[:, 0, 3], full[:, 1, 3])).double().diff() % 360
    assert torch.allclose(steps, torch.full((11,), 30.0, dtype=torch.float64), atol=1e-3)


def test_orbit_positive_azimuth_moves_camera_to_its_left_and_keeps_horizon():
    c2w, _ = orbit(num_frames=4, azimuth_range=(0, 40), radius=2.0)
    assert c2w[1, 0, 3] < 0  # -x = image left
    assert torch.allclose(c2w[:, 1, 3], torch.zeros(4), atol=1e-6)  # elevation 0: stays level
    assert torch.allclose(c2w[:, :3, 1], torch.tensor([0.0, 1.0, 0.0]).expand(4, 3), atol=1e-6)  # no roll


def test_forward_moves_as_documented():
    n, radius = 12, 2.0
    c2w, K = forward(num_frames=n, elevation=10, azimuth_range=(-30, 30), radius=radius)
    assert torch.allclose(c2w[0], torch.eye(4), atol=1e-6)
    assert torch.allclose(K[:, 0, 0], torch.full((n,), 1.0938))
    target = torch.tensor([0.0, 0.0, radius])
    assert_looks_at(c2w, target)
    world, _ = forward(num_frames=n, elevation=10, azimuth_range=(-30, 30), radius=radius, frame="world")
    pos = world[:, :3, 3].double()
    az = torch.rad2deg(torch.atan2(pos[:, 0], pos[:, 1]))
    el = torch.rad2deg(torch.asin((pos[:, 2] / radius).clamp(-1, 1)))
    expected_az = [0, -20, -10, 0, 10, 20, 30, 20, 10, 0, -10, -20]
    e = 10.0
    expected_el = [0, e / 3, 2 * e / 3, e, 2 * e / 3, e / 3, 0, -e / 3, -2 * e / 3, -e, -2 * e / 3, -e / 3]
    assert torch.allclose(az, torch.tensor(expected_az, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(el, torch.tensor(expected_el, dtype=torch.float64), atol=1e-4)
    # Negative azimuth = camera to its right (+x), positive elevation = up (-y).
    assert c2w[1, 0, 3] > 0 and c2w[3, 1, 3] < 0
    with pytest.raises(ValueError, match="divisible by 4"):
        forward(num_frames=10)


# --- other moves --------------------------------------------------------------------------------


def test_spiral_starts_at_identity_stays_in_plane_and_looks_at_focus():
    c2w, _ = spiral(num_frames=9, radius=0.4, num_rotations=2, focus_distance=3.0)
    assert torch.allclose(c2w[0], torch.eye(4), atol=1e-6)
    pos = c2w[:, :3, 3].double()
    assert torch.allclose(pos[:, 2], torch.zeros(9, dtype=torch.float64), atol=1e-7)
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    assert torch.allclose(pos[:, :2].norm(dim=-1), 0.4 * t, atol=1e-6)  # radius grows linearly
    angle = torch.atan2(pos[1:, 1], pos[1:, 0])
    expected = torch.remainder(2 * math.pi * 2 * t[1:] + math.pi, 2 * math.pi) - math.pi
    assert torch.allclose(torch.cos(angle - expected), torch.ones(8, dtype=torch.float64), atol=1e-6)
    assert_looks_at(c2w, torch.tensor([0.0, 0.0, 3.0]))


def test_dolly_moves_along_view_axis_only():
    c2w, K = dolly(num_frames=5, distance=-0.8)
    assert torch.allclose(c2w[:, :3, :3], torch.eye(3).expand(5, 3, 3))
    assert torch.allclose(c2w[:, :3, 3], torch.stack([torch.zeros(5), torch.zeros(5), torch.linspace(0, -0.8, 5)], -1))
    assert torch.allclose(K, K[:1].expand(5, 3, 3))


def test_zoom_keeps_camera_and_scales_focal_geometrically():
    c2w, K = zoom(num_frames=5, factor=2.0, focal=1.0)
    assert torch.allclose(c2w, torch.eye(4).expand(5, 4, 4))
    expected = 2.0 ** torch.linspace(0, 1, 5)
    assert torch.allclose(K[:, 0, 0], expected) and torch.allclose(K[:, 1, 1], expected)
    assert torch.allclose(K[:, :2, 2], torch.full((5, 2), 0.5))
    # A point off-axis moves away from the image centre by exactly the zoom.
    uv, _ = project_points(torch.tensor([[0.2, -0.1, 2.0]]).expand(5, 1, 3), c2w, K)
    assert torch.allclose((uv[:, 0] - 0.5).norm(dim=-1) / (uv[0, 0] - 0.5).norm(), expected, atol=1e-5)


def test_pan_rotate_and_translate():
    c2w, _ = pan(num_frames=4, angle=30.0)
    assert torch.allclose(c2w[:, :3, 3], torch.zeros(4, 3))
    view = c2w[:, :3, 2]
    yaw = torch.rad2deg(torch.atan2(view[:, 0], view[:, 2]))
    assert torch.allclose(yaw, torch.tensor([0.0, 10.0, 20.0, 30.0]), atol=1e-4)  # turns right (+x)
    assert torch.allclose(c2w[:, :3, 1], torch.tensor([0.0, 1.0, 0.0]).expand(4, 3), atol=1e-6)  # no tilt/roll
    c2w, _ = pan(num_frames=3, mode="translate", distance=0.6)
    assert torch.allclose(c2w[:, :3, :3], torch.eye(3).expand(3, 3, 3))
    assert torch.allclose(c2w[:, :3, 3], torch.tensor([[0.0, 0, 0], [0.3, 0, 0], [0.6, 0, 0]]))
    with pytest.raises(ValueError, match="pan mode"):
        pan(mode="sideways")


def test_interpolate_passes_through_keyframes_and_is_smooth():
    eyes = torch.tensor([[0.0, 0, 0], [1.0, 0.2, 0.5], [2.0, -0.3, 0.0], [2.5, 0.0, -1.0]], dtype=torch.float64)
    keys = look_at(eyes, torch.tensor([1.0, 0.0, 4.0], dtype=torch.float64).expand(4, 3))
    keys_K = torch.stack([torch.eye(3)] * 4).double()
    keys_K[:, 0, 0] = keys_K[:, 1, 1] = torch.tensor([1.0, 1.2, 1.4, 1.0], dtype=torch.float64)
    keys_K[:, :2, 2] = 0.5
    for n in (4, 10, 23):
        c2w, K = interpolate(keys, n, keyframes_K=keys_K)
        assert c2w.shape == (n, 4, 4)
        check_rigid(c2w)
        # Each keyframe appears exactly, first and last included.
        dist = (c2w[None].double() - keys[:, None]).abs().amax(dim=(-1, -2))  # K x n
        assert (dist.min(dim=1).values < 1e-6).all()
        kf_idx = dist.argmin(dim=1)
        assert kf_idx[0] == 0 and kf_idx[-1] == n - 1 and (kf_idx.diff() > 0).all()
        assert torch.allclose(K[kf_idx].double(), keys_K, atol=1e-6)
    # Smooth: no step between consecutive frames is much larger than the average step.
    c2w, _ = interpolate(keys, 40)
    steps = c2w[:, :3, 3].diff(dim=0).norm(dim=-1)
    assert steps.max() < 3 * steps.mean()
    with pytest.raises(ValueError, match="at least 2"):
        interpolate(keys[:1], 5)


def test_handheld_jitter_small_smooth_deterministic():
    c2w, _ = dolly(num_frames=30, distance=1.0)
    a = handheld_jitter(c2w, amplitude=0.01, seed=3)
    b = handheld_jitter(c2w, amplitude=0.01, seed=3)
    c = handheld_jitter(c2w, amplitude=0.01, seed=4)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    check_rigid(a)
    assert torch.allclose(a[0], c2w[0], atol=1e-7)  # the input view is kept
    offset = (a[:, :3, 3] - c2w[:, :3, 3]).norm(dim=-1)
    assert 0 < offset.max() < 0.1
    # Smooth: the perturbation changes little between consecutive frames relative to its size.
    delta = a[:, :3, 3] - c2w[:, :3, 3]
    assert delta.diff(dim=0).norm(dim=-1).max() < 0.5 * offset.max()


def test_presets_and_make_trajectory():
    assert {"orbit", "forward", "spiral", "dolly", "zoom", "pan", "static"} <= set(PRESETS)
    for name, generator in PRESETS.items():
        c2w, K = generator(num_frames=8, focal=1.3)
        assert c2w.shape == (8, 4, 4) and K.shape == (8, 3, 3), name
        assert c2w.dtype == torch.float32 and K.dtype == torch.float32
        assert torch.allclose(c2w[0], torch.eye(4), atol=1e-6), name
        assert torch.isclose(K[0, 0, 0], torch.tensor(1.3)), name
    assert torch.equal(make_trajectory("static", num_frames=3)[0], static(num_frames=3)[0])
    with pytest.raises(ValueError, match="unknown camera path"):
        make_trajectory("loop")


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_frames": "8"}, TypeError, r"^num_frames must be an integer, got '8' \(str\)$"),  # said "got 8"
    ({"num_frames": None}, TypeError, r"^num_frames must be an integer, got None"),  # int()'s own message
    ({"num_frames": 2.5}, ValueError, r"^num_frames must be an integer, got 2.5$"),
    ({"num_frames": 0}, ValueError, r"^num_frames must be an integer in 1..100000, got 0$"),
    ({"num_frames": 8, "focal": "1.4"}, TypeError, r"^focal must be a number, got '1.4' \(str\)$"),  # math's message
    ({"num_frames": 8, "focal": float("nan")}, ValueError, r"^focal must be a finite number > 0, got nan"),
])
def test_preset_arguments_are_checked_in_one_line(kwargs, error, message):
    from genxd.cameras import orbit

    with pytest.raises(error, match=message):
        orbit(**kwargs)


@pytest.mark.parametrize("make, message", [
    (lambda: orbit(num_frames=10**30), "num_frames must be an integer in 1..100000"),
    (lambda: forward(num_frames=10**30), "num_frames must be an integer in 4..100000"),
    (lambda: orbit(num_frames=4, azimuth_range=(0,)), "azimuth_range must be two numbers"),
    (lambda: orbit(num_frames=4, azimuth_range=(float("nan"), 1)), "azimuth_range must be a finite number"),
    (lambda: forward(num_frames=4, azimuth_range=(0, 1, 2)), "azimuth_range must be two numbers"),
    (lambda: orbit(num_frames=4, target=(0, 0)), "target must be three finite numbers"),
    (lambda: orbit(num_frames=4, target=(0, 0, float("inf"))), "target must be three finite numbers"),
    (lambda: handheld_jitter(orbit(num_frames=4)[0], amplitude=float("nan")), "amplitude must be a finite number >= 0"),
    (lambda: handheld_jitter(orbit(num_frames=4)[0], period=float("nan")), "period must be a finite number > 0"),
    (lambda: handheld_jitter(orbit(num_frames=4)[0], seed=-1), "seed must be an integer in 0.."),
])
def test_presets_name_the_bad_argument(make, message):
    """Found by fuzzing the Python API: num_frames=10**30 was numpy's 'Maximum allowed size exceeded',
    azimuth_range=(0,) 'not enough values to unpack', target=(0, 0) torch's size mismatch, a NaN azimuth or jitter
    amplitude NaN cameras without a word, period=nan 'cannot convert float NaN to integer', seed=-1 numpy's
    'expected non-negative integer'."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make()


@pytest.mark.parametrize("c2w, factor, error, message", [
    (None, 2.0, TypeError, "c2w must be a tensor or an array of numbers, got NoneType"),
    (torch.eye(3)[None], 2.0, ValueError, "c2w must be [..., 4, 4] matrices, got shape (1, 3, 3)"),
    (torch.eye(4)[None], float("nan"), ValueError, "factor must be a finite number, got nan"),
    (torch.eye(4)[None], "2", TypeError, "factor must be a number, got '2' (str)"),
])
def test_scale_translations_names_the_bad_argument(c2w, factor, error, message):
    """Found by fuzzing the Python API: c2w=None was "'NoneType' object has no attribute 'clone'", and factor=nan
    a path of NaN cameras without a word."""
    from genxd.cameras import scale_translations

    with pytest.raises(error, match="^" + re.escape(message)):
        scale_translations(c2w, factor)


@pytest.mark.parametrize("preset, argument", [
    ("orbit", "elevation"), ("orbit", "radius"), ("forward", "elevation"), ("forward", "radius"),
    ("spiral", "radius"), ("spiral", "num_rotations"), ("spiral", "focus_distance"), ("dolly", "distance"),
    ("zoom", "factor"), ("pan", "angle"), ("pan", "distance"),
])
@pytest.mark.parametrize("bad, error, match", [
    (float("nan"), ValueError, "must be a finite number, got nan"),  # NaN cameras, silently (zoom: its own words)
    ("1", TypeError, "must be a number, got '1'"),  # numpy's / torch's own words
])
def test_preset_numbers_are_checked_naming_the_argument(preset, argument, bad, error, match):
    """The presets called from Python (a notebook): the command line and genxd.generate check their own options,
    the functions checked only num_frames, focal, azimuth_range and target."""
    with pytest.raises(error, match=rf"^{argument} {match}"):
        make_trajectory(preset, num_frames=4, **{argument: bad})


def test_preset_numbers_may_be_numpy_or_torch_scalars():
    expected = make_trajectory("orbit", num_frames=4, elevation=10.0, radius=2.0)
    for got in (make_trajectory("orbit", num_frames=4, elevation=np.float32(10.0), radius=np.int64(2)),
                make_trajectory("orbit", num_frames=4, elevation=torch.tensor(10.0), radius=torch.tensor(2.0))):
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_preset_numbers_may_be_one_number_in_a_numpy_array():
    """np.asarray(10.0) (a 0-d array) and np.array([2.0]) were taken by orbit before its numbers were checked, and
    then refused ("elevation must be a number, got array(10.) (ndarray)") where a torch tensor of one number was
    taken."""
    expected = make_trajectory("orbit", num_frames=4, elevation=10.0, radius=2.0)
    got = make_trajectory("orbit", num_frames=4, elevation=np.asarray(10.0), radius=np.array([2.0]))
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(TypeError, match=r"^radius must be a number"):
        make_trajectory("orbit", num_frames=4, radius=np.array([2.0, 3.0]))


@pytest.mark.parametrize("preset", ["orbit", "forward"])
@pytest.mark.parametrize("elevation", [89.99999, -89.99999, 89.9999999999])
def test_orbit_and_forward_take_every_elevation_strictly_between_minus_90_and_90(preset, elevation):
    """Elevations within 6e-5 degrees of +-90 were refused with "elevation must be strictly between -90 and 90
    degrees", which they are: the check was 1e-6 radians from the pole. Now every elevation inside is a path of
    rigid cameras looking at the target (only +-90 itself is refused)."""
    c2w, _ = make_trajectory(preset, num_frames=8, elevation=elevation, frame="world")
    assert bool(torch.isfinite(c2w).all())
    R = c2w[:, :3, :3].double()
    torch.testing.assert_close(R @ R.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand_as(R), atol=1e-6, rtol=0)
    forward_axis = -c2w[:, :3, 3].double() / c2w[:, :3, 3].double().norm(dim=-1, keepdim=True)  # towards the target
    torch.testing.assert_close(R[:, :, 2], forward_axis, atol=1e-6, rtol=0)
    for pole in (90.0, -90.0):
        with pytest.raises(ValueError, match="^elevation must be strictly between -90 and 90 degrees"):
            make_trajectory(preset, num_frames=8, elevation=pole)


@pytest.mark.parametrize("preset", ["orbit", "forward"])
@pytest.mark.parametrize("radius", [1e-13, 1e-300])
def test_orbit_and_forward_take_a_tiny_radius(preset, radius):
    """A radius below 1e-12 (positive, as the argument and --radius ask) was refused in another function's words:
    "look_at: eye and target must be finite and apart". Now the cameras turn about the target as with any radius."""
    c2w, _ = make_trajectory(preset, num_frames=8, radius=radius)
    expected, _ = make_trajectory(preset, num_frames=8, radius=1.0)
    torch.testing.assert_close(c2w[:, :3, :3], expected[:, :3, :3], atol=1e-6, rtol=0)
    torch.testing.assert_close(c2w[:, :3, 3].double(), expected[:, :3, 3].double() * radius,
                               atol=1e-6 * radius + 1e-30, rtol=1e-5)  # 1e-300 is 0 in float32
