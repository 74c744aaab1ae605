"""Camera paths for synthetic scenes (world +y up; OpenCV c2w; normalised K).

Scenes keep their objects within ~1.5 world units of the origin, so the defaults (orbit radius 4,
elevation 25 degrees, normalised focal 1.0, i.e. a 53 degree field of view) frame every object.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from genxd.cameras import intrinsics_from_focal, look_at

__all__ = ["orbit_cameras", "forward_cameras", "place_path", "camera_path", "look_around", "CAMERA_PATHS"]

#: Kinds of :func:`camera_path`.
CAMERA_PATHS = ("orbit", "forward", "handheld", "static", "sway", "spiral", "dolly", "pan", "zoom", "rotate")


def _as_range(azimuth_range_deg: float | Sequence[float]) -> tuple[float, float]:
    """A span (start 0) or ``(start, end)``, finite degrees: (1, 2, 3) was "too many values to unpack", 'a' float()'s
    "could not convert string to float"."""
    from genxd.validation import Float, Pair

    if isinstance(azimuth_range_deg, (int, float)) and not isinstance(azimuth_range_deg, bool):
        return 0.0, Float().check(azimuth_range_deg, "azimuth_range_deg")
    start, end = Pair(Float(), "0,360").check(azimuth_range_deg, "azimuth_range_deg")
    return float(start), float(end)


def _check_num_views(num_views: int) -> int:
    """An integer in 1..100,000 (genxd.cameras' presets' limit) naming ``num_views``."""
    from genxd.validation import Int

    return Int(1, 100_000).check(num_views, "num_views")


def _orbit_poses(
    azimuths_deg: np.ndarray, elevations_deg: np.ndarray, radius: float, target: Sequence[float] | np.ndarray
) -> Tensor:
    """Upright cameras (image up = world +y) on a sphere about ``target``, looking at it: ``[N, 4, 4]``."""
    az, el = np.deg2rad(azimuths_deg), np.deg2rad(elevations_deg)
    tgt = np.asarray(target, dtype=np.float64)
    eye = tgt + radius * np.stack([np.cos(el) * np.cos(az), np.sin(el), -np.cos(el) * np.sin(az)], -1)
    c2w = look_at(torch.as_tensor(eye, dtype=torch.float64), torch.as_tensor(tgt, dtype=torch.float64))
    return c2w.float()


def orbit_cameras(
    num_views: int,
    radius: float = 4.0,
    elevation_deg: float = 25.0,
    azimuth_range_deg: float | Sequence[float] = 360.0,
    focal: float = 1.0,
    target: Sequence[float] = (0.0, 0.0, 0.0),
) -> tuple[Tensor, Tensor]:
    """Cameras on a circle around ``target``, all looking at it.

    Args:
        num_views: number of cameras ``N``.
        radius: distance from ``target`` (world units).
        elevation_deg: angle above the horizontal plane through ``target`` (positive: above).
        azimuth_range_deg: a span (start 0) or ``(start, end)`` in degrees, counter-clockwise seen
            from above, 0 on the +x axis. A full 360 degree span excludes the repeated end view.
        focal: normalised focal length fx/W = fy/H (principal point at the centre).
        target: the point looked at.
    Returns:
        c2w ``[N, 4, 4]`` float32, K ``[N, 3, 3]`` float32.
    """
    from genxd.cameras.trajectories import _check_target
    from genxd.validation import Float

    # each by name, as genxd.cameras' presets: num_views='4' was "'<' not supported between instances of 'str' and
    # 'int'", target=(0, 0) numpy's broadcast error, a NaN radius, elevation or target NaN cameras without a word
    num_views = _check_num_views(num_views)
    radius = Float(0.0, lo_open=True).check(radius, "radius")
    focal = Float(0.0, lo_open=True).check(focal, "focal")
    elevation_deg = Float(-89.9, 89.9, lo_open=True, hi_open=True).check(elevation_deg, "elevation_deg")
    start, end = _as_range(azimuth_range_deg)
    tgt = _check_target(target).numpy()
    full_circle = math.isclose(abs(end - start), 360.0) and num_views > 1
    az = np.linspace(start, end, num_views, endpoint=not full_circle) if num_views > 1 else np.array([start])
    c2w = _orbit_poses(az, np.full_like(az, elevation_deg), radius, tgt)
    K = intrinsics_from_focal(focal).expand(num_views, 3, 3).clone()
    return c2w.float(), K


def forward_cameras(
    num_views: int,
    start: Sequence[float] = (0.0, 1.0, -4.5),
    end: Sequence[float] = (0.0, 0.8, -2.2),
    target: Sequence[float] = (0.0, 0.3, 0.0),
    focal: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """A forward walk: camera centres on the segment ``start -> end``, looking at ``target``.

    Returns c2w ``[N, 4, 4]``, K ``[N, 3, 3]`` (float32).
    """
    from genxd.validation import Float

    num_views = _check_num_views(num_views)
    focal = Float(0.0, lo_open=True).check(focal, "focal")
    s = torch.linspace(0.0, 1.0, num_views, dtype=torch.float64)[:, None]
    a = torch.as_tensor(start, dtype=torch.float64)
    b = torch.as_tensor(end, dtype=torch.float64)
    eye = a + s * (b - a)
    c2w = look_at(eye, torch.as_tensor(target, dtype=torch.float64))
    K = intrinsics_from_focal(focal).expand(num_views, 3, 3).clone()
    return c2w.float(), K


def look_around(
    num_frames: int, focal: float = 1.0, yaw_deg: float = 16.0, pitch_deg: float = 8.0, cycles: float = 1.0
) -> tuple[Tensor, Tensor]:
    """A camera that turns in place, relative to its first view (``c2w[0]`` is the identity): yaw
    ``yaw_deg sin(2 pi c t)`` (positive: the view turns right), then pitch ``pitch_deg (1 - cos(2 pi c t)) / 2``
    (positive: up), ``t = i / (N - 1)``, ``c = cycles``. Returns c2w ``[N, 4, 4]``, K ``[N, 3, 3]`` (float32)."""
    from genxd.cameras import make_c2w

    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    t = torch.linspace(0, 1, num_frames, dtype=torch.float64) if num_frames > 1 else torch.zeros(1, dtype=torch.float64)
    phase = 2 * math.pi * cycles * t
    yaw = torch.deg2rad(yaw_deg * torch.sin(phase))
    pitch = torch.deg2rad(pitch_deg * (1 - torch.cos(phase)) / 2)
    cy, sy, cp, sp = torch.cos(yaw), torch.sin(yaw), torch.cos(pitch), torch.sin(pitch)
    zero, one = torch.zeros_like(t), torch.ones_like(t)
    Ry = torch.stack([torch.stack([cy, zero, sy], -1), torch.stack([zero, one, zero], -1),
                      torch.stack([-sy, zero, cy], -1)], -2)  # about the camera's y: view towards +x
    Rx = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, cp, sp], -1),
                      torch.stack([zero, -sp, cp], -1)], -2)  # about x: view towards -y (image up)
    c2w = make_c2w(Ry @ Rx, torch.zeros(num_frames, 3, dtype=torch.float64))
    return c2w.float(), intrinsics_from_focal(focal).expand(num_frames, 3, 3).clone().float()


def rotation_path(rng: np.random.Generator, num_views: int, focal: float) -> tuple[Tensor, Tensor]:
    """A random camera that only turns (relative to its first view; see ``camera_path('rotate')``)."""
    from genxd.cameras import trajectories

    sign = lambda: float(rng.choice([-1.0, 1.0]))  # noqa: E731
    if rng.random() < 0.5:
        return trajectories.pan(num_views, angle=sign() * rng.uniform(8.0, 40.0), mode="rotate", focal=focal)
    return look_around(num_views, focal, sign() * rng.uniform(5.0, 25.0), sign() * rng.uniform(0.0, 12.0),
                       cycles=float(rng.choice([0.5, 1.0])))


def place_path(relative_c2w: Tensor, first_c2w: Tensor) -> Tensor:
    """Put a path given relative to its first camera (``genxd.cameras.trajectories`` presets) into
    the world: ``first_c2w @ relative_c2w`` (``[N, 4, 4]``; the first camera lands on ``first_c2w``)."""
    return (first_c2w.double() @ relative_c2w.double()).float()


def camera_path(
    kind: str, num_views: int, seed: int = 0, focal: float = 1.0
) -> tuple[Tensor, Tensor]:
    """A randomised camera path of type ``kind`` for data making; deterministic in ``seed``.

    Kinds (see :data:`CAMERA_PATHS`):
        'orbit': a partial orbit (60 to 180 degrees) about the vertical axis at radius 3.2-4.2,
            elevation 15-35 degrees, looking at (0, 0.25, 0);
        'forward': a walk towards the scene from a random side (:func:`forward_cameras`);
        'handheld': a short arc with smooth hand-held shake (``genxd.cameras.handheld_jitter``);
        'static': a fixed camera (for object-motion-only clips);
        'sway': the authors' forward-facing sway (``genxd.cameras.forward_angles``) about a random
            orbit view, kept upright;
        'spiral', 'dolly', 'pan', 'zoom': the ``genxd.cameras`` presets, placed (:func:`place_path`)
            at a random orbit view of the scene;
        'rotate': the camera turns in place at a random orbit view (no parallax: every view is a
            homography of the first): half the time a pan (rotate mode, 8-40 degrees either way),
            else :func:`look_around` (yaw 5-25, pitch 0-12 degrees either way).
    Returns c2w ``[N, 4, 4]``, K ``[N, 3, 3]`` (float32).
    """
    from genxd.cameras import trajectories

    if kind not in CAMERA_PATHS:
        raise ValueError(f"unknown camera path {kind!r}; expected one of {', '.join(CAMERA_PATHS)}")
    rng = np.random.default_rng([seed, 0xCA3])
    az0 = rng.uniform(0.0, 360.0)
    radius = rng.uniform(3.2, 4.2)
    elevation = rng.uniform(15.0, 35.0)
    target = (0.0, 0.25, 0.0)
    if kind == "orbit":
        span = rng.uniform(60.0, 180.0) * rng.choice([-1.0, 1.0])
        return orbit_cameras(num_views, radius, elevation, (az0, az0 + span), focal, target)
    if kind == "forward":
        a = math.radians(az0)
        direction = np.array([math.cos(a), 0.0, -math.sin(a)])
        start = direction * rng.uniform(4.2, 5.0) + np.array([0.0, rng.uniform(0.9, 1.4), 0.0])
        end = direction * rng.uniform(2.4, 2.9) + np.array([0.0, rng.uniform(0.7, 1.0), 0.0])
        side = np.cross(direction, [0.0, 1.0, 0.0]) * rng.uniform(-0.4, 0.4)
        return forward_cameras(num_views, start + side, end + side, (0.0, 0.3, 0.0), focal)
    if kind == "handheld":
        span = rng.uniform(15.0, 40.0) * rng.choice([-1.0, 1.0])
        c2w, K = orbit_cameras(num_views, radius, elevation, (az0, az0 + span), focal, target)
        shaken = trajectories.handheld_jitter(c2w, amplitude=0.03, seed=seed, rotation_deg=0.8, period=4.0)
        return shaken.float(), K

    if kind == "sway":
        # The authors' forward-facing sway (azimuth/elevation offsets from the first view), kept
        # upright about the world's vertical axis.
        n4 = max(4, -(-num_views // 4) * 4)  # their schedule needs a multiple of 4 frames
        d_el, d_az = trajectories.forward_angles(n4, rng.uniform(3.0, 8.0), (-30.0, 30.0))
        c2w = _orbit_poses(az0 + d_az[:num_views], elevation + d_el[:num_views], radius, target)
        return c2w, intrinsics_from_focal(focal).expand(num_views, 3, 3).clone()
    first, _ = orbit_cameras(1, radius, elevation, (az0, az0), focal, target)
    if kind == "static":
        rel, K = trajectories.static(num_views, focal=focal)
    elif kind == "spiral":
        rel, K = trajectories.spiral(num_views, radius=rng.uniform(0.2, 0.5), focus_distance=radius, focal=focal)
    elif kind == "dolly":
        rel, K = trajectories.dolly(num_views, distance=rng.uniform(0.6, 1.4), focal=focal)
    elif kind == "pan":
        rel, K = trajectories.pan(num_views, mode="translate", distance=rng.uniform(-1.0, 1.0), focal=focal)
    elif kind == "zoom":
        rel, K = trajectories.zoom(num_views, factor=rng.uniform(1.2, 1.6), focal=focal)
    else:  # rotate
        rel, K = rotation_path(rng, num_views, focal)
    return place_path(rel, first[0]), K.float()
