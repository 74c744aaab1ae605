"""Cameras of a clip whose camera only turns (or stands still), from tracked points, without SfM
(:func:`rotation_only_cameras`; used by :func:`genxd.cameras.from_video.recover_clip_cameras` before SfM)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["rotation_only_cameras", "repeated_frames", "FOCAL_SEARCH", "STILL_PX", "STILL_DRIFT_PX", "STOP_CONTRAST",
           "STOP_MIN_REPEATS"]

#: the normalised focal lengths fx / W searched for a turning camera whose focal length is not given
FOCAL_SEARCH = (0.3, 4.0)
#: Tracked points that move less than this (pixels, the median over the points) between two frames: the camera
#: stood still. The median, not a high percentile: a subject moving before a still camera (a box sliding 3 px a frame
#: over a fifth of the tracks) took the 90th percentile over 0.3 px, and a still camera was sent to SfM, which
#: invented a 3.5 degree turn. A camera moving slowly, with most of its points barely moving, is told apart by
#: :data:`STILL_DRIFT_PX` (a whole still clip) and :data:`STOP_CONTRAST` (a stop).
STILL_PX = 0.3
#: A still clip's median point (chained from frame to frame, :func:`_chained_drift_px`) also stays within this many
#: pixels of where it is in the first frame: a sideways truck over a far background moves it 0.06 px a frame (1.9 px
#: over 30 frames; 0.7 px over 12, called still) and a slow pan 0.25 px (9.7 px), while a tripod clip with sensor
#: noise stays near 0.4 px over 200 frames.
STILL_DRIFT_PX = 1.0
#: Frames within :data:`STILL_PX` of the last one kept are a stop only when the camera moves at least this many times
#: as far in the step just before or after them as in its largest step among them: a camera moving slowly but steadily
#: (0.25 px a frame) has every other frame within 0.3 px of the one before, which were taken for stops (a staircase
#: path and 'the camera stands still in 20 of 40 frames'); a real stop moves by the tracking noise within.
STOP_CONTRAST = 3.0
#: The fewest frames that repeat the one kept in a stop (but for a whole still clip): a single frame is not one. The
#: median step measures a slow camera to about 0.05 px, and a sideways truck (0.06 px a frame, median) measured
#: 0.127, 0.016, 0.111 px in three steps, its middle frame taken for a stop; one repeated frame costs SfM nothing.
STOP_MIN_REPEATS = 2


def _tracks(frames: np.ndarray, allowed: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """KLT tracks (outside the masks) per frame: ``(ids, xy)`` with pixel centres at +0.5 (docs/conventions.md)."""
    import cv2

    from ..curation.sfm import klt_feature_tracks

    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    return [(ids, xy.astype(np.float64) + 0.5) for ids, xy in klt_feature_tracks(gray, allowed)]


def _common(tracks: list[tuple[np.ndarray, np.ndarray]], i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    (ids_a, xy_a), (ids_b, xy_b) = tracks[i], tracks[j]
    _, ia, ib = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
    return xy_a[ia], xy_b[ib]


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation ``R`` minimising ``sum ||b_i - R a_i||^2`` (unit rays ``[..., P, 3]``; Wahba's problem),
    one per leading index (``[..., 3, 3]``)."""
    U, _, Vt = np.linalg.svd(np.swapaxes(b, -1, -2) @ a)
    U[..., :, 2] *= np.sign(np.linalg.det(U @ Vt))[..., None]  # U diag(1, 1, det) Vt: a rotation, not a reflection
    return U @ Vt


def _rays(xy: np.ndarray, f: float, w: int, h: int) -> np.ndarray:
    """Unit viewing rays of pixel points for square pixels of focal length ``f * w`` (``f`` = fx/W) and the
    principal point at the centre: a clip that is not square has ``fy / H = f * w / h``."""
    d = np.stack([(xy[:, 0] - w / 2) / (f * w), (xy[:, 1] - h / 2) / (f * w), np.ones(len(xy))], 1)
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _rotation_fit(a: np.ndarray, b: np.ndarray, f: float, w: int, h: int, threshold_px: float,
                  rng: np.random.Generator, trials: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust rotation between two views of points (RANSAC over 2-point Kabsch, then all inliers).

    Returns ``(R_ba [3, 3], inliers [P] bool, residual_px [P])``: ``R_ba`` maps camera-a ray directions to
    camera b's. The trials run as one batch; the first trial with the most inliers wins."""
    ra, rb = _rays(a, f, w, h), _rays(b, f, w, h)
    px = f * w  # pixels per radian, near the image centre
    first = rng.integers(0, len(a), trials)
    second = rng.integers(0, len(a) - 1, trials)
    picks = np.stack([first, second + (second >= first)], 1)  # [T, 2]: two distinct points per trial
    R = _kabsch(ra[picks], rb[picks])  # [T, 3, 3]: every trial at once
    cos = np.einsum("pi,tji,pj->tp", ra, R, rb)
    inl = np.degrees(np.arccos(np.clip(cos, -1, 1))) * np.pi / 180 * px < threshold_px  # [T, P]
    counts = inl.sum(1)
    best = inl[int(np.argmax(counts))] if counts.max() > 0 else np.zeros(len(a), bool)
    R = _kabsch(ra[best], rb[best]) if best.sum() >= 3 else np.eye(3)
    residual = np.arccos(np.clip(np.sum((ra @ R.T) * rb, 1), -1, 1)) * px
    return R, residual < threshold_px, residual


def rotation_only_cameras(frames: np.ndarray, allowed: np.ndarray, focal: float | None = None,
                          seed: int = 0) -> dict[str, Any]:
    """Cameras of a clip whose camera only turns (or stands still), from tracked points.

    For a camera that turns about its centre, the viewing rays of a point in two frames differ by one
    rotation, whatever the point's depth. Between consecutive frames that rotation is fitted robustly
    (2-point RANSAC + least squares, Kabsch) to the KLT tracks outside the masks; the clip is accepted
    as turning when every pair fits with 70 % inliers and a median error under ``max(0.5 px, 0.3 %)`` of
    the image. A camera that also moves does not fit (the points' parallax). Pixels are square: ``focal`` is
    fx/W and fy/H = fx/W * W/H. An unknown focal length is the one that fits best (searched over fx/W in
    0.3 ... 4, :data:`FOCAL_SEARCH`; it is weakly determined when the camera turns little; ``report`` says
    ``focal_at_search_end`` when the best fit is at an end of that range). A camera whose tracks (the median) move less
    than :data:`STILL_PX` (0.3 pixels) between consecutive frames and stay within :data:`STILL_DRIFT_PX` (1 pixel) of
    where they are in the first frame (chained, :func:`_chained_drift_px`) stands still (``repeats`` then all 0).

    Returns a dict with ``c2w`` (float64 ``[N, 4, 4]``, first = identity), ``focal``, ``focal_known``,
    ``method`` ("rotation-only" / "static") and ``report``; or with ``error`` (why not). Either way ``repeats``
    (:func:`repeated_frames`): for each frame, the earlier frame it repeats (itself when it does not).
    """
    n, h, w = frames.shape[:3]
    tracks = _tracks(frames, allowed)
    got = _turning_or_still(tracks, n, h, w, focal, seed)
    return {**got, "repeats": [0] * n if got.get("method") == "static" else repeated_frames(tracks)}


def _motion_px(a: np.ndarray, b: np.ndarray) -> float:
    """How far the points ``a`` -> ``b`` moved: the median, in pixels (robust to a moving subject's tracks)."""
    return float(np.median(np.linalg.norm(b - a, axis=1)))


def _step_px(tracks: list[tuple[np.ndarray, np.ndarray]], i: int, j: int) -> float:
    """:func:`_motion_px` from frame ``i`` to ``j`` over their common points; infinite with fewer than 12."""
    a, b = _common(tracks, i, j)
    return _motion_px(a, b) if len(a) >= 12 else float("inf")


def _chained_drift_px(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """How far the clip's median point got from where it was in the first frame (pixels, the most over the frames),
    chained from frame to frame over the ``pairs`` (the common points of each frame and the next).

    Each step adds the median displacement vector (a shift), and apart the median change of scale and angle of the
    points about their median (a zoom or a roll, whose median vector is about 0), measured at the median point's
    distance from there in the first pair; the larger of the two counts (each drifts by tracking noise: 0.22 and
    0.48 px on a 200-frame tripod clip, 256 x 256 px, where a zoom of 0.1 % a frame over 30 frames gives 2.8 px). Signed steps: tracking noise averages out, a steady camera adds up. Not the motion
    of the points shared with frame 0: that grew with the clip's length (KLT's drift on a 200-frame tripod clip
    with sensor noise, 1.06 px) and became the subject's as the background's tracks were lost (a still camera
    filming a sliding subject, 4.2 px at 24 frames)."""
    shift, turn, worst, radius = np.zeros(2), 0j, 0.0, None
    for a, b in pairs:
        step = np.median(b - a, axis=0)
        shift = shift + step
        centre = np.median(a, axis=0)
        za = (a[:, 0] - centre[0]) + 1j * (a[:, 1] - centre[1])
        zb = (b[:, 0] - centre[0] - step[0]) + 1j * (b[:, 1] - centre[1] - step[1])
        if radius is None:
            radius = float(np.median(np.abs(za)))
        far = np.abs(za) > 0.1 * max(radius, 1.0)  # points at the centre carry no angle nor scale
        if far.sum() >= 12:
            ratio = np.log(zb[far] / za[far])
            turn += float(np.median(ratio.real)) + 1j * float(np.median(ratio.imag))
        worst = max(worst, float(np.linalg.norm(shift)), abs(np.exp(turn) - 1) * radius)
    return worst


def _is_stop(steps: list[float], kept: int, end: int) -> bool:
    """Whether frames ``kept + 1 ... end`` (each within :data:`STILL_PX` of ``kept``) are a stop, by ``steps`` (the
    motion from each frame to the next, :func:`_step_px`): the step into ``kept`` or out of ``end`` is at least
    :data:`STOP_CONTRAST` x the largest step among ``kept ... end``, over at least :data:`STOP_MIN_REPEATS` frames
    (always for the whole clip)."""
    within = max(steps[kept:end])
    around = ([steps[kept - 1]] if kept > 0 else []) + ([steps[end]] if end < len(steps) else [])
    return not around or (end - kept >= STOP_MIN_REPEATS and max(around) >= STOP_CONTRAST * within)


def repeated_frames(tracks: list[tuple[np.ndarray, np.ndarray]], still_px: float = STILL_PX) -> list[int]:
    """For each frame, the last earlier frame kept (itself when kept) when its tracked points (the median, of at
    least 12; a subject may move meanwhile) moved less than ``still_px`` pixels from that one's and
    the camera moved clearly faster around those frames than among them (:func:`_is_stop`; the longest such run):
    the camera stood still in between, which SfM cannot place (no baseline: a forward clip that paused for 10 of its
    42 frames came out 27 degrees wrong). A camera moving steadily under ``still_px`` a frame repeats no frame."""
    n = len(tracks)
    steps = [_step_px(tracks, t, t + 1) for t in range(n - 1)]
    repeats, kept = list(range(n)), 0
    while kept < n - 1:
        end = kept  # the frames after ``kept`` that stay within ``still_px`` of it
        while end + 1 < n and _step_px(tracks, kept, end + 1) < still_px:
            end += 1
        stop = next((e for e in range(end, kept, -1) if _is_stop(steps, kept, e)), None)
        if stop is None:
            kept += 1
        else:
            repeats[kept + 1:stop + 1] = [kept] * (stop - kept)
            kept = stop + 1
    return repeats


def _turning_or_still(tracks: list[tuple[np.ndarray, np.ndarray]], n: int, h: int, w: int, focal: float | None,
                      seed: int) -> dict[str, Any]:
    """:func:`rotation_only_cameras` from the clip's tracks."""
    pairs = [_common(tracks, i, i + 1) for i in range(n - 1)]
    few = [i for i, (a, _) in enumerate(pairs) if len(a) < 12]
    if few:
        return {"error": f"only {len(pairs[few[0]][0])} tracked points between frames {few[0]} and {few[0] + 1}"}
    size = max(h, w)
    threshold = max(0.5, 0.003 * size)
    # still: little motion between consecutive frames AND, chained, from frame 0 (a slow pan of 0.25 px a frame moves under
    # STILL_PX from one frame to the next and 10 px in all)
    motion = max((_motion_px(a, b) for a, b in pairs), default=0.0)
    if motion < STILL_PX:
        drift = _chained_drift_px(pairs)
        if drift < STILL_DRIFT_PX:
            return {"c2w": torch.eye(4, dtype=torch.float64).repeat(n, 1, 1),
                    "focal": focal if focal is not None else 1.0, "focal_known": focal is not None, "method": "static",
                    "report": {"track_motion_px": motion, "track_drift_px": drift}}
    rng = np.random.default_rng(seed)
    for i, (a, b) in enumerate(pairs):  # a quick look (any focal near the truth fits a turn to ~3x the noise)
        _, inliers, residual = _rotation_fit(a, b, focal or 1.0, w, h, 3 * threshold, rng, 40)
        if inliers.mean() < 0.5:
            return {"error": f"the points between frames {i} and {i + 1} do not move as for a turning camera: "
                             "the camera moves"}
    report: dict[str, Any] = {}
    if focal is None:
        def cost(f: float) -> float:  # median residual in pixels, summed over the pairs
            same = np.random.default_rng(seed)  # the same RANSAC draws for every focal: a smooth cost to search
            return sum(float(np.median(_rotation_fit(a, b, f, w, h, threshold, same, 40)[2])) for a, b in pairs)

        coarse = np.exp(np.linspace(np.log(FOCAL_SEARCH[0]), np.log(FOCAL_SEARCH[1]), 27))  # 10 % steps, then 1 %
        at = int(np.argmin([cost(f) for f in coarse]))
        fine = float(coarse[at]) * np.exp(np.linspace(-0.1, 0.1, 21))
        f = float(fine[int(np.argmin([cost(f) for f in fine]))])
        report["focal_estimated"] = f
        # the best fit at an end of the range: a focal length beyond it may fit better still, the turn is then a guess
        report["focal_at_search_end"] = at in (0, len(coarse) - 1)
    else:
        f = float(focal)
    c2w = [np.eye(4)]
    errors, ratios = [], []
    for i, (a, b) in enumerate(pairs):
        R_ba, inliers, residual = _rotation_fit(a, b, f, w, h, threshold, rng)
        ratio, err = float(inliers.mean()), float(np.median(residual))
        errors.append(err)
        ratios.append(ratio)
        if ratio < 0.7 or err > threshold:
            return {"error": f"the points between frames {i} and {i + 1} do not move as for a turning camera "
                             f"(median error {err:.2f} px, {100 * ratio:.0f} % inliers): the camera moves"}
        step = np.eye(4)
        step[:3, :3] = R_ba.T  # camera b's axes in camera a's frame
        c2w.append(c2w[-1] @ step)
    # parallax builds up over many frames: check each frame against the farthest one it shares points with
    px = f * w
    for i in range(n - 1):
        j = max((k for k in range(i + 1, n) if len(_common(tracks, i, k)[0]) >= 12), default=i + 1)
        a, b = _common(tracks, i, j)
        R_ba = (c2w[j][:3, :3].T @ c2w[i][:3, :3])
        err = float(np.median(np.arccos(np.clip(np.sum((_rays(a, f, w, h) @ R_ba.T) * _rays(b, f, w, h), 1), -1, 1)))
                    * px)
        if err > 2 * threshold:
            return {"error": f"frames {i} and {j} show parallax (median error {err:.2f} px for a turning camera): "
                             "the camera moves"}
    report.update({"rotation_fit_error_px": float(np.median(errors)), "rotation_fit_inliers": float(np.median(ratios))})
    return {"c2w": torch.from_numpy(np.stack(c2w)), "focal": f, "focal_known": focal is not None,
            "method": "rotation-only", "report": report}
