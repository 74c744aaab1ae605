"""Resampling, smoothing and rescaling camera paths (used by camera paths taken from videos).

All functions take OpenCV camera-to-world ``c2w [N, 4, 4]`` (float64 recommended) and work on the
camera centres ``c2w[:, :3, 3]`` and rotations ``c2w[:, :3, :3]`` separately:

- rotations are interpolated by **slerp** between consecutive keyframes
  (``scipy.spatial.transform.Slerp``), positions by a **cubic spline** through the keyframes
  (``scipy.interpolate.make_interp_spline``, degree ``min(3, N - 1)``, not-a-knot ends; where two consecutive
  keyframes share a centre the camera stands still and one spline runs through each moving part), intrinsics
  linearly;
- samples are spaced uniformly in the clip's **time** or in **arc length** (distance travelled by the
  camera centre; for paths that barely move, the angle turned);
- optional smoothing: Gaussian-weighted local-linear fits over ``sigma`` keyframes (positions, and
  rotations in the tangent space at each camera), which keep constant-speed motion exactly.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["SPACINGS", "relative_to_first", "smooth_path", "resample_path", "path_length", "angular_length"]

SPACINGS = ("arc", "time")
_DENSE = 2001  # samples of the spline used to measure arc length


def _np(x: Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def relative_to_first(c2w: Tensor) -> Tensor:
    """``inverse(c2w[0]) @ c2w``: the first camera becomes the identity (``[N, 4, 4]``)."""
    c2w = c2w.double()
    return torch.linalg.inv(c2w[0]) @ c2w


def path_length(c2w: Tensor | np.ndarray) -> float:
    """Sum of the camera-centre steps (units of the path)."""
    t = _np(c2w)[:, :3, 3]
    return float(np.linalg.norm(np.diff(t, axis=0), axis=1).sum()) if len(t) > 1 else 0.0


def angular_length(c2w: Tensor | np.ndarray) -> float:
    """Sum of the rotation angles between consecutive cameras, degrees."""
    from scipy.spatial.transform import Rotation

    R = Rotation.from_matrix(_np(c2w)[:, :3, :3])
    return float(np.degrees((R[:-1].inv() * R[1:]).magnitude()).sum()) if len(R) > 1 else 0.0


def smooth_path(c2w: Tensor, sigma: float) -> Tensor:
    """Gaussian-weighted local-linear smoothing over ``sigma`` keyframes.

    Each camera is replaced by the value at its own frame of a straight line fitted (weighted least
    squares, Gaussian weights of ``sigma`` frames) to the nearby centres, and likewise for the rotations
    in the tangent space at the camera (rotation vectors of ``R_i^T R_j``). Motion at a constant speed and
    turn rate is kept exactly, also at the ends; ``sigma <= 0`` returns the path unchanged.
    """
    from scipy.spatial.transform import Rotation

    if sigma <= 0 or len(c2w) < 3:
        return c2w.clone()
    m = _np(c2w)
    n = len(m)
    idx = np.arange(n, dtype=np.float64)
    R = Rotation.from_matrix(m[:, :3, :3])
    out = m.copy()
    for i in range(n):
        d = idx - i
        w = np.exp(-0.5 * (d / sigma) ** 2)
        w[w < 1e-6] = 0.0
        A = np.stack([np.ones(n), d], 1) * np.sqrt(w)[:, None]

        def intercept(values: np.ndarray) -> np.ndarray:
            coef, *_ = np.linalg.lstsq(A, values * np.sqrt(w)[:, None], rcond=None)
            return coef[0]

        out[i, :3, 3] = intercept(m[:, :3, 3])
        local = (R[i].inv() * R).as_rotvec()
        out[i, :3, :3] = (R[i] * Rotation.from_rotvec(intercept(local))).as_matrix()
    return torch.from_numpy(out).to(c2w.dtype)


def _arc_parameter(times: np.ndarray, c2w: np.ndarray, spline, slerp) -> tuple[np.ndarray, np.ndarray] | None:
    """Cumulative arc length of the interpolated path at ``_DENSE`` times (None: path does not move)."""
    dense_t = np.linspace(times[0], times[-1], _DENSE)
    pos = spline(dense_t)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    scale = max(np.linalg.norm(c2w[:, :3, 3] - c2w[:1, :3, 3], axis=1).max(), 1e-12)
    if steps.sum() > 1e-6 * scale and steps.sum() > 1e-9:
        return dense_t, np.concatenate([[0.0], np.cumsum(steps)])
    rots = slerp(dense_t)
    ang = (rots[:-1].inv() * rots[1:]).magnitude()
    if ang.sum() > 1e-9:
        return dense_t, np.concatenate([[0.0], np.cumsum(ang)])
    return None


def _centre_spline(t: np.ndarray, pos: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The camera centres ``pos [M, 3]`` at keyframe times ``t`` as a function of time: a not-a-knot cubic spline
    (degree ``min(3, run - 1)``) through each run of keyframes that moves, the centre held where two consecutive
    keyframes share it (from-video's still frames take the camera they repeat).

    One spline through a stop went back and forth around it (8.5 % of a step, 9 backward steps of 59 on a forward
    clip that paused); PCHIP through the whole path, as from 2026-12-05, stood still there but bent every other part
    (a half orbit with a 3-frame stop: 160 times the radial error, step lengths varying 1.87 x far from the stop)."""
    from scipy.interpolate import make_interp_spline

    still = np.all(np.diff(pos, axis=0) == 0, axis=1)  # [M - 1]: the intervals the camera stands still
    if not still.any():
        return make_interp_spline(t, pos, k=min(3, len(t) - 1))
    runs: list[tuple[int, int, Callable[[np.ndarray], np.ndarray]]] = []  # (first, last keyframe, spline) moving
    start = 0
    for i in range(len(t)):
        if i == len(t) - 1 or still[i]:
            if i > start:
                runs.append((start, i, make_interp_spline(t[start:i + 1], pos[start:i + 1], k=min(3, i - start))))
            start = i + 1
    interval_of = np.zeros(len(t) - 1, int) - 1  # each interval's run (-1: standing still)
    for r, (a, b, _) in enumerate(runs):
        interval_of[a:b] = r

    def centres(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        interval = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 2)
        out = pos[interval].copy()  # standing still: the centre of the interval's first keyframe (= its last)
        for r, (_, _, spline) in enumerate(runs):
            at = interval_of[interval] == r
            if at.any():
                out[at] = spline(x[at])
        return out

    return centres


def resample_path(
    c2w: Tensor,
    K: Tensor,
    times: Tensor | np.ndarray,
    num_frames: int,
    spacing: str = "arc",
) -> tuple[Tensor, Tensor, Tensor]:
    """Resample a keyframed path to ``num_frames`` cameras between its first and last keyframe.

    Args:
        c2w: ``[M, 4, 4]`` keyframe camera-to-world; K: ``[M, 3, 3]`` normalised intrinsics.
        times: ``[M]`` strictly increasing keyframe times (e.g. the clip's frame times in [0, 1]).
        num_frames: cameras in the result (>= 1); the first and last keyframes are kept exactly.
        spacing: ``"time"`` (uniform in time) or ``"arc"`` (uniform in distance travelled by the
            camera centre; by angle turned for paths that do not translate; by time when neither).
    Returns:
        ``(c2w [F, 4, 4], K [F, 3, 3], times [F])`` in ``c2w``'s dtype; ``times`` are the keyframe-time
        of each sample (the clip's timing).
    """
    from scipy.spatial.transform import Rotation, Slerp

    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    m = _np(c2w)
    k = _np(K)
    t = _np(times).reshape(-1)
    if len(m) != len(t) or len(k) != len(t):
        raise ValueError(f"resample_path: {len(m)} poses, {len(k)} intrinsics and {len(t)} times")
    if len(t) == 0:
        raise ValueError("resample_path: no keyframes")
    if len(t) == 1 or num_frames == 1:
        out = np.repeat(m[:1], num_frames, 0)
        return (torch.from_numpy(out).to(c2w.dtype), torch.from_numpy(np.repeat(k[:1], num_frames, 0)).to(K.dtype),
                torch.full((num_frames,), float(t[0]), dtype=c2w.dtype))
    if np.any(np.diff(t) <= 0):
        raise ValueError("resample_path: keyframe times must increase strictly")
    spline = _centre_spline(t, m[:, :3, 3])
    slerp = Slerp(t, Rotation.from_matrix(m[:, :3, :3]))
    sample_t = np.linspace(t[0], t[-1], num_frames)
    if spacing == "arc":
        arc = _arc_parameter(t, m, spline, slerp)
        if arc is not None:
            dense_t, cum = arc
            target = np.linspace(0.0, cum[-1], num_frames)
            sample_t = np.interp(target, cum, dense_t)
            sample_t[0], sample_t[-1] = t[0], t[-1]
    out = np.tile(np.eye(4), (num_frames, 1, 1))
    out[:, :3, :3] = slerp(sample_t).as_matrix()
    out[:, :3, 3] = spline(sample_t)
    out[0], out[-1] = m[0], m[-1]
    Ks = np.stack([np.stack([np.interp(sample_t, t, k[:, r, c]) for c in range(3)], -1) for r in range(3)], 1)
    return (torch.from_numpy(out).to(c2w.dtype), torch.from_numpy(Ks).to(K.dtype),
            torch.from_numpy(sample_t).to(c2w.dtype))
