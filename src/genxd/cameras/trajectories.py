"""Camera paths for generation: the authors' ``orbit`` / ``forward`` modes and common camera moves.

Every generator returns ``(c2w [N, 4, 4], K [N, 3, 3])`` as float32 in the project convention
(OpenCV camera-to-world, normalised intrinsics; ``docs/conventions.md``), and unless stated
otherwise the path is expressed **relative to its first camera** (``c2w[0]`` is the identity): the
first camera is the input image's camera, at the origin looking along +z, image right = +x, image
down = +y. The intrinsics are ``fx/W = fy/H = focal``, principal point at the image centre.

See ``docs/cameras.md`` for how each path moves. ``PRESETS`` maps CLI names to generators that all
accept ``num_frames`` and ``focal`` keywords.
"""

from __future__ import annotations

import math
from typing import Callable, Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from ._io import MAX_FOCAL, MIN_FOCAL, as_c2w, as_intrinsics
from .geometry import _tensor, c2w_to_w2c, intrinsics_from_focal, look_at, make_c2w

__all__ = [
    "AUTHORS_FOCAL",
    "AUTHORS_FOCAL_README",
    "AUTHORS_NUM_FRAMES",
    "PRESET_SCENE_DEPTH",
    "scale_translations",
    "orbit",
    "forward",
    "forward_angles",
    "spiral",
    "dolly",
    "zoom",
    "pan",
    "static",
    "interpolate",
    "handheld_jitter",
    "PRESETS",
    "make_trajectory",
]

#: The authors' default normalised focal length (``evaluator.focal`` in their config: 1.414).
AUTHORS_FOCAL = 1.414
#: The focal length their README / scripts use for custom images (``+evaluator.focal=1.0938``).
AUTHORS_FOCAL_README = 1.0938
#: Frames per generated clip in the authors' config (``diffusion.num_frames``).
AUTHORS_NUM_FRAMES = 12
#: Where the presets put the scene they look at, in their own units: the subject of ``orbit`` and ``forward`` at
#: ``radius`` 2 and ``spiral``'s focus at 2 (the authors' settings); ``dolly`` and ``pan``'s 0.5 are a quarter of
#: it. A model trained with another scene scale gets the presets scaled to its own (``scene_depth`` in its
#: ``generation_config.json``, :attr:`genxd.checkpoints.ModelInfo.preset_scale`).
PRESET_SCENE_DEPTH = 2.0

Frame = Literal["first", "world"]


def _check_num_frames(num_frames: int, minimum: int = 1) -> int:
    """A ValueError for a frame count below ``minimum`` or not whole; a TypeError for one that is no number (the
    string '8' said "must be an integer >= 1, got 8", None was int()'s own TypeError)."""
    from ..validation import Int

    # at most genxd trajectory make's 100,000: num_frames=10**30 was numpy's "Maximum allowed size exceeded"
    return Int(minimum, 100_000).check(num_frames, "num_frames")  # named as the presets name it (callers rename it)


def _check_azimuth_range(azimuth_range: tuple[float, float]) -> tuple[float, float]:
    """Two finite numbers (degrees): (0,) was "not enough values to unpack", (nan, 1) a path of NaN cameras."""
    from ..validation import Float, Pair

    return Pair(Float(), "0,360").check(azimuth_range, "azimuth_range")


def _check_target(target: Sequence[float]) -> Tensor:
    """Three finite numbers: (0, 0) was torch's "The size of tensor a (3) must match the size of tensor b (2)"."""
    from ..validation import InvalidValue

    tgt = _tensor(target, "target").to(torch.float64)
    if tgt.shape != (3,) or not torch.isfinite(tgt).all():
        raise InvalidValue(f"target must be three finite numbers (x, y, z), got {target!r}"[:200])
    return tgt


def _finite(value: float, name: str) -> float:
    """A finite number (a numpy or torch scalar too): NaN made a path of NaN cameras silently, a string failed in
    numpy's or torch's own words (the notebook API audit, 2026-12-06). InvalidValue / InvalidType naming it."""
    from ..validation import Float

    # one number in a tensor or numpy array: as a scalar (a 0-d array, np.asarray(30.0), was taken before the check)
    if (isinstance(value, Tensor) and value.numel() == 1) or (isinstance(value, np.ndarray) and value.size == 1):
        value = value.item()
    return float(Float().check(value, name))


def _check_focal(focal: float) -> float:
    from ..validation import Float

    return float(Float(0.0, lo_open=True, why="a normalised focal length fx / W").check(focal, "focal"))


def _constant_K(focal: float, n: int) -> Tensor:
    return intrinsics_from_focal(_check_focal(focal)).expand(n, 3, 3).clone().float()


def _to_first(c2w: Tensor) -> Tensor:
    """Express ``c2w [N, 4, 4]`` relative to its first camera (float64 exact inverse)."""
    return c2w_to_w2c(c2w[0]) @ c2w


def _finish(c2w: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    return c2w.float().contiguous(), K.float().contiguous()


def _orbit_poses_world(
    elevations_rad: np.ndarray, azimuths_rad: np.ndarray, radius: float, target: Sequence[float]
) -> Tensor:
    """The authors' ``orbit_camera`` (cam_type 'blender') in OpenCV c2w, float64 ``[N, 4, 4]``.

    World frame: +z up; the camera sits at ``target + radius * (cos(e) sin(a), cos(e) cos(a), sin(e))``
    and looks at ``target`` with image up as close to +z as possible: its axes are ``x = (-cos a, sin a, 0)``,
    ``z = -(cos(e) sin(a), cos(e) cos(a), sin(e))``, ``y = z x x``: ``look_at`` with up +z written out, defined for
    every elevation strictly between -90 and 90 degrees and every radius > 0 (before 2026-12-07 elevations within
    6e-5 degrees of the poles were refused as not "strictly between -90 and 90", and radii below 1e-12 in
    ``look_at``'s words).
    """
    e = torch.as_tensor(elevations_rad, dtype=torch.float64)
    a = torch.as_tensor(azimuths_rad, dtype=torch.float64)
    if (e.abs() >= math.pi / 2).any():  # straight down / up: no azimuth sets the image's up direction
        raise ValueError("elevation must be strictly between -90 and 90 degrees (the camera would look straight down/up)")
    tgt = _check_target(target)
    outward = torch.stack([torch.cos(e) * torch.sin(a), torch.cos(e) * torch.cos(a), torch.sin(e)], dim=-1)
    x = torch.stack([-torch.cos(a), torch.sin(a), torch.zeros_like(a)], dim=-1)
    z = -outward
    y = torch.cross(z, x, dim=-1)
    return make_c2w(torch.stack([x, y, z], dim=-1), outward * radius + tgt)


def _check_frame(frame: str) -> None:
    if frame not in ("first", "world"):
        raise ValueError(f"frame must be 'first' or 'world', got {frame!r}")


def orbit(
    num_frames: int = AUTHORS_NUM_FRAMES,
    elevation: float = 0.0,
    azimuth_range: tuple[float, float] = (0.0, 360.0),
    radius: float = 2.0,
    focal: float = AUTHORS_FOCAL,
    target: Sequence[float] = (0.0, 0.0, 0.0),
    frame: Frame = "first",
    consistent4d: bool = False,
) -> tuple[Tensor, Tensor]:
    """The authors' ``orbit`` mode (``generate_orbit_cameras``): a circle around a target point.

    ``num_frames`` azimuths evenly spaced in ``[a1, a2)`` (degrees, end excluded), fixed
    ``elevation`` (degrees), every camera at distance ``radius`` from the target and looking at it.
    The first camera (azimuth ``a1``) is the input image's camera. Increasing azimuth moves the camera
    to its **left** around the target (clockwise seen from above). In the first camera's frame the
    target is at ``(0, 0, radius)`` and the orbit axis is the world up direction, which for
    ``elevation = 0`` is the first camera's -y (image up).

    Args:
        frame: ``"first"`` (default) returns poses relative to the first camera; ``"world"`` returns
            the authors' world frame exactly (+z up, target at ``target``, azimuth 0 on the +y axis).
        consistent4d: the authors' Consistent4D variant: azimuth ``a1`` first, then ``N - 1``
            azimuths in ``[a1, a2)``, all mirrored (``360 - a``).
    """
    n = _check_num_frames(num_frames)
    _check_frame(frame)
    elevation, radius = _finite(elevation, "elevation"), _finite(radius, "radius")
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    a1, a2 = np.deg2rad(np.asarray(_check_azimuth_range(azimuth_range), dtype=np.float64))
    if consistent4d:
        azimuths = 2 * np.pi - np.array([0.0] + np.linspace(a1, a2, n - 1, endpoint=False).tolist())
    else:
        azimuths = np.linspace(a1, a2, n, endpoint=False)
    elevations = np.full(n, np.deg2rad(elevation))
    c2w = _orbit_poses_world(elevations, azimuths, radius, target)
    if frame == "first":
        c2w = _to_first(c2w)
    return _finish(c2w, _constant_K(focal, n))


def forward_angles(num_frames: int, elevation: float, azimuth_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(elevations, azimuths) in degrees of the authors' ``forward`` mode (see :func:`forward`)."""
    n = _check_num_frames(num_frames, minimum=4)
    if n % 4:
        raise ValueError(f"forward mode needs num_frames divisible by 4 (the authors' path has 4 equal parts), got {n}")
    a1, a2 = _check_azimuth_range(azimuth_range)
    azimuths = np.concatenate([np.linspace(a1, a2, n // 2, endpoint=False), np.linspace(a2, a1, n // 2, endpoint=False)])
    q = n // 4
    e = _finite(elevation, "elevation")
    elevations = np.concatenate(
        [
            np.linspace(0, e, q, endpoint=False),
            np.linspace(e, 0, q, endpoint=False),
            np.linspace(0, -e, q, endpoint=False),
            np.linspace(-e, 0, q, endpoint=False),
        ]
    )
    azimuths[0] = 0.0
    elevations[0] = 0.0
    return elevations, azimuths


def forward(
    num_frames: int = AUTHORS_NUM_FRAMES,
    elevation: float = 0.0,
    azimuth_range: tuple[float, float] = (-30.0, 30.0),
    radius: float = 2.0,
    focal: float = AUTHORS_FOCAL_README,
    target: Sequence[float] = (0.0, 0.0, 0.0),
    frame: Frame = "first",
) -> tuple[Tensor, Tensor]:
    """The authors' ``forward`` mode (``generate_forwardfacing_cameras``): a sway on the orbit sphere.

    Cameras stay at distance ``radius`` from the target and look at it (same sphere and axes as
    :func:`orbit`). Frame 0 is at azimuth 0, elevation 0 (the input camera). Then the azimuth sweeps
    ``a1 -> a2`` over the first half of the frames and ``a2 -> a1`` over the second half (ends
    excluded, ``num_frames // 2`` steps each; frame 0's azimuth is replaced by 0); the elevation
    goes ``0 -> e -> 0 -> -e -> 0`` in four equal parts (``num_frames // 4`` steps each). With the
    README's settings (``elevation=0, azimuth_range=(-30, 30), radius=2, focal=1.0938``, 12
    frames) the azimuths are ``0, -20, -10, 0, 10, 20, 30, 20, 10, 0, -10, -20`` degrees: a left-right
    sway around the input view (negative azimuth = camera to its right). ``num_frames`` must be a
    multiple of 4. ``frame`` as in :func:`orbit`.
    """
    _check_frame(frame)
    radius = _finite(radius, "radius")
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    elevations, azimuths = forward_angles(num_frames, elevation, azimuth_range)
    c2w = _orbit_poses_world(np.deg2rad(elevations), np.deg2rad(azimuths), radius, target)
    if frame == "first":
        c2w = _to_first(c2w)
    return _finish(c2w, _constant_K(focal, len(azimuths)))


def spiral(
    num_frames: int = AUTHORS_NUM_FRAMES,
    radius: float = 0.3,
    num_rotations: float = 1.0,
    focus_distance: float = 2.0,
    focal: float = AUTHORS_FOCAL,
) -> tuple[Tensor, Tensor]:
    """An outward spiral in the first camera's image plane, always looking at a focus point.

    Camera ``i`` (``t = i / (N - 1)``) sits at ``(r t cos(2 pi R t), r t sin(2 pi R t), 0)`` with
    ``r = radius`` and ``R = num_rotations`` (first step towards +x = image right, turning towards
    +y = image down), and looks at the focus point ``(0, 0, focus_distance)`` with image up kept
    as close as possible to the first camera's (-y). ``c2w[0]`` is the identity.
    """
    n = _check_num_frames(num_frames)
    radius, focus_distance = _finite(radius, "radius"), _finite(focus_distance, "focus_distance")
    num_rotations = _finite(num_rotations, "num_rotations")
    if radius < 0 or focus_distance <= 0:
        raise ValueError("spiral: radius must be >= 0 and focus_distance > 0")
    t = torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    theta = 2 * math.pi * num_rotations * t
    eye = torch.stack([radius * t * torch.cos(theta), radius * t * torch.sin(theta), torch.zeros_like(t)], dim=-1)
    focus = torch.tensor([0.0, 0.0, focus_distance], dtype=torch.float64)
    up = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
    c2w = look_at(eye, focus.expand_as(eye), up)
    return _finish(c2w, _constant_K(focal, n))


def dolly(num_frames: int = AUTHORS_NUM_FRAMES, distance: float = 0.5, focal: float = AUTHORS_FOCAL) -> tuple[Tensor, Tensor]:
    """Move along the view axis: camera ``i`` at ``(0, 0, distance * i / (N - 1))``, no rotation.

    Positive ``distance`` moves forward (towards the scene, "dolly in"), negative backward. The
    intrinsics stay fixed.
    """
    n = _check_num_frames(num_frames)
    distance = _finite(distance, "distance")
    s = torch.linspace(0, distance, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    t = torch.zeros(n, 3, dtype=torch.float64)
    t[:, 2] = s
    c2w = make_c2w(torch.eye(3, dtype=torch.float64).expand(n, 3, 3), t)
    return _finish(c2w, _constant_K(focal, n))


def zoom(num_frames: int = AUTHORS_NUM_FRAMES, factor: float = 1.5, focal: float = AUTHORS_FOCAL) -> tuple[Tensor, Tensor]:
    """Change the focal length with the camera fixed (every ``c2w`` is the identity).

    Focal of frame ``i``: ``focal * factor ** (i / (N - 1))`` (a constant zoom rate per frame), so
    the last frame is magnified ``factor`` times (``factor > 1`` zooms in, ``< 1`` zooms out). The
    principal point stays at the image centre.
    """
    n = _check_num_frames(num_frames)
    _check_focal(focal)
    factor = _finite(factor, "factor")
    if factor <= 0:
        raise ValueError(f"zoom factor must be positive, got {factor}")
    t = torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    focals = focal * factor**t
    last = float(focals[-1])
    if not MIN_FOCAL <= last <= MAX_FOCAL:  # else only the generation refused the path (its intrinsics), not the preview
        raise ValueError(f"zoom factor {factor:g} takes the focal length {focal:g} to {last:g}; it must stay in "
                         f"{MIN_FOCAL:g}..{MAX_FOCAL:g}")
    K = intrinsics_from_focal(focals.float())
    c2w = torch.eye(4, dtype=torch.float64).expand(n, 4, 4).clone()
    return _finish(c2w, K)


def pan(
    num_frames: int = AUTHORS_NUM_FRAMES,
    angle: float = 30.0,
    mode: Literal["rotate", "translate"] = "rotate",
    distance: float = 0.5,
    focal: float = AUTHORS_FOCAL,
) -> tuple[Tensor, Tensor]:
    """Pan the camera sideways.

    - ``mode="rotate"`` (a true pan): the camera stays at the origin and turns about its own
      vertical (y) axis by ``angle * i / (N - 1)`` degrees; positive ``angle`` turns the view to the
      right (the viewing direction moves towards +x).
    - ``mode="translate"`` (a "truck"): no rotation, camera ``i`` at ``(distance * i / (N - 1), 0, 0)``;
      positive ``distance`` moves to the right.
    """
    n = _check_num_frames(num_frames)
    angle, distance = _finite(angle, "angle"), _finite(distance, "distance")
    t = torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    if mode == "rotate":
        theta = torch.deg2rad(angle * t)
        c, s = torch.cos(theta), torch.sin(theta)
        R = torch.zeros(n, 3, 3, dtype=torch.float64)
        R[:, 0, 0], R[:, 0, 2], R[:, 1, 1], R[:, 2, 0], R[:, 2, 2] = c, s, 1.0, -s, c
        c2w = make_c2w(R, torch.zeros(n, 3, dtype=torch.float64))
    elif mode == "translate":
        pos = torch.zeros(n, 3, dtype=torch.float64)
        pos[:, 0] = distance * t
        c2w = make_c2w(torch.eye(3, dtype=torch.float64).expand(n, 3, 3), pos)
    else:
        raise ValueError(f"pan mode must be 'rotate' or 'translate', got {mode!r}")
    return _finish(c2w, _constant_K(focal, n))


def static(num_frames: int = AUTHORS_NUM_FRAMES, focal: float = AUTHORS_FOCAL) -> tuple[Tensor, Tensor]:
    """A fixed camera (every ``c2w`` is the identity): for video / object-motion-only generation."""
    n = _check_num_frames(num_frames)
    return _finish(torch.eye(4, dtype=torch.float64).expand(n, 4, 4).clone(), _constant_K(focal, n))


def _sample_times(num_keyframes: int, n: int) -> np.ndarray:
    """``n`` increasing times in ``[0, K - 1]``, evenly spaced, containing every integer ``0..K-1``."""
    times = np.linspace(0.0, num_keyframes - 1, n)
    # Snap the nearest sample onto each keyframe time; samples stay strictly increasing because the
    # spacing (K - 1) / (n - 1) <= 1 and each keyframe takes a different sample.
    for k in range(num_keyframes):
        j = int(np.argmin(np.abs(times - k)))
        times[j] = float(k)
    return times


def interpolate(
    keyframes_c2w: Tensor,
    n: int,
    keyframes_K: Tensor | None = None,
    focal: float = AUTHORS_FOCAL,
) -> tuple[Tensor, Tensor]:
    """A smooth path through keyframe cameras, passing exactly through each of them.

    Keyframe ``k`` sits at parameter ``t = k``; ``n`` frames are sampled evenly in ``[0, K - 1]``,
    with the sample nearest each keyframe moved onto it (so every keyframe appears exactly once,
    first and last included). Positions follow a natural cubic spline (``scipy CubicSpline``),
    rotations a C2 rotation spline (``scipy RotationSpline``, slerp-like between two keyframes).
    Intrinsics are interpolated linearly between keyframes (``keyframes_K [K, 3, 3]``) or fixed
    to ``focal``. The path keeps the keyframes' frame (it is not made relative to the first one).

    Args:
        keyframes_c2w: ``[K, 4, 4]`` OpenCV camera-to-world, ``K >= 2``.
        n: number of frames, ``n >= K``.
    """
    from scipy.interpolate import CubicSpline
    from scipy.spatial.transform import Rotation, RotationSpline

    keys = as_c2w(keyframes_c2w, "keyframes_c2w")
    num_keys = keys.shape[0]
    if num_keys < 2:
        raise ValueError("interpolate: need at least 2 keyframes")
    n = _check_num_frames(n)
    if n < num_keys:
        raise ValueError(f"interpolate: n ({n}) must be >= the number of keyframes ({num_keys})")
    times = _sample_times(num_keys, n)
    key_times = np.arange(num_keys, dtype=np.float64)
    positions = keys[:, :3, 3].numpy()
    pos = CubicSpline(key_times, positions, axis=0, bc_type="natural")(times)
    rot_spline = RotationSpline(key_times, Rotation.from_matrix(keys[:, :3, :3].numpy()))
    rots = rot_spline(times).as_matrix()
    # Exactly the keyframes at keyframe times (the splines are exact there up to rounding).
    key_idx = np.round(times).astype(int)
    at_key = np.isclose(times, key_idx)
    pos[at_key] = positions[key_idx[at_key]]
    rots[at_key] = keys[key_idx[at_key], :3, :3].numpy()
    c2w = make_c2w(torch.from_numpy(rots), torch.from_numpy(pos))
    if keyframes_K is None:
        K = _constant_K(focal, n)
    else:
        Kk = as_intrinsics(keyframes_K, num_keys, "keyframes_K")
        lo = np.clip(np.floor(times).astype(int), 0, num_keys - 2)
        w = torch.from_numpy(times - lo)[:, None, None]
        K = Kk[lo] * (1 - w) + Kk[lo + 1] * w
    return _finish(c2w, K)


def _smooth_noise(rng: np.random.Generator, n: int, dims: int, period: float) -> np.ndarray:
    """Smooth zero-mean noise ``[n, dims]`` of unit scale: random control values every ``period`` frames, cubic spline."""
    from scipy.interpolate import CubicSpline

    num_ctrl = max(2, int(math.ceil((n - 1) / period)) + 2)
    ctrl_t = np.arange(num_ctrl, dtype=np.float64) * period
    values = rng.standard_normal((num_ctrl, dims))
    return CubicSpline(ctrl_t, values, axis=0)(np.arange(n, dtype=np.float64))


def handheld_jitter(
    c2w: Tensor,
    amplitude: float = 0.01,
    seed: int = 0,
    rotation_deg: float | None = None,
    period: float = 6.0,
    keep_first: bool = True,
) -> Tensor:
    """Add a small, smooth, random "hand-held" perturbation to a camera path.

    Each camera is moved in its own frame: ``c2w[i] @ [R(w_i) | t_i]`` with ``t_i`` a smooth random
    offset of scale ``amplitude`` (world units, per axis) and ``w_i`` a smooth random rotation
    vector of scale ``rotation_deg`` (default ``amplitude`` x 30 degrees per unit, i.e. 0.3 degrees
    for ``amplitude=0.01``). Smooth = cubic spline through random values every ``period`` frames.
    ``keep_first`` leaves frame 0 exactly unchanged (the input view). Deterministic for a ``seed``.

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world.
    Returns:
        ``[N, 4, 4]`` float32 perturbed camera-to-world.
    """
    from scipy.spatial.transform import Rotation

    from ..validation import SEED, Float, Flag

    poses = as_c2w(c2w)
    # each checked by name: amplitude=nan or inf passed (NaN / infinite poses), period=nan was "cannot convert float
    # NaN to integer", seed=-1 numpy's "expected non-negative integer"
    amplitude = Float(0.0).check(amplitude, "amplitude")
    period = Float(0.0, lo_open=True).check(period, "period")
    rotation_deg = Float(optional=True).check(rotation_deg, "rotation_deg")
    seed = SEED.check(seed, "seed")
    keep_first = Flag().check(keep_first, "keep_first")
    rot_scale = math.radians(amplitude * 30.0 if rotation_deg is None else rotation_deg)
    n = poses.shape[0]
    rng = np.random.default_rng(seed)
    noise = _smooth_noise(rng, n, 6, period)
    if keep_first:
        noise = noise - noise[:1]
    t = noise[:, :3] * amplitude
    w = noise[:, 3:] * rot_scale
    delta = make_c2w(torch.from_numpy(Rotation.from_rotvec(w).as_matrix()), torch.from_numpy(t))
    return (poses @ delta).float()


def scale_translations(c2w: Tensor, factor: float) -> Tensor:
    """``c2w [..., 4, 4]`` with every camera position multiplied by ``factor`` (the path scaled about the world
    origin, rotations kept; for paths relative to the first camera, about the input camera). A new tensor."""
    from ..validation import Float

    # c2w=None was "'NoneType' object has no attribute 'clone'", factor=nan a path of NaN cameras
    poses = _tensor(c2w, "c2w", (4, 4))
    factor = Float().check(factor, "factor")
    out = poses.clone()
    out[..., :3, 3] *= factor
    return out


def make_trajectory(name: str, **kwargs: object) -> tuple[Tensor, Tensor]:
    """Build a preset path by name (``PRESETS``); keyword arguments go to the generator."""
    if name not in PRESETS:
        raise ValueError(f"unknown camera path {name!r}; choose from {', '.join(sorted(PRESETS))}")
    return PRESETS[name](**kwargs)


#: CLI name -> generator; each accepts ``num_frames`` and ``focal`` keywords and returns ``(c2w, K)``.
PRESETS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "orbit": orbit,
    "forward": forward,
    "spiral": spiral,
    "dolly": dolly,
    "zoom": zoom,
    "pan": pan,
    "static": static,
}
