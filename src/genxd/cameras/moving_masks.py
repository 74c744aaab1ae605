"""Masks of moving things that two-view flow tests miss: tracks that no static point explains with a
first SfM pass's cameras (:func:`inconsistent_track_mask`, the second pass of
:func:`genxd.cameras.from_video.recover_clip_cameras`)."""

from __future__ import annotations

import numpy as np

__all__ = ["INCONSISTENT_FRACTION", "INCONSISTENT_MEDIAN_FACTOR", "inconsistent_track_mask"]

#: A track is inconsistent with the first SfM pass when its RMS reprojection error exceeds
#: max(INCONSISTENT_FRACTION x image size, INCONSISTENT_MEDIAN_FACTOR x the median over tracks).
INCONSISTENT_FRACTION = 0.02
INCONSISTENT_MEDIAN_FACTOR = 4.0


def inconsistent_track_mask(frames: np.ndarray, c2w: np.ndarray, registered: np.ndarray, K: np.ndarray,
                            radius_fraction: float = 0.06, threshold_fraction: float | None = None,
                            median_factor: float | None = None) -> np.ndarray:
    """``bool [N, H, W]``: regions of tracked points that no static 3D point explains with these cameras.

    Every KLT track seen in at least 3 registered frames is triangulated (linear, all its views) with the
    cameras ``c2w [N, 4, 4]`` (NaN where not registered) and normalised ``K [3, 3]``; a track whose RMS
    reprojection error exceeds ``max(2 % of the image, 4 x the median over tracks)`` is inconsistent,
    and discs of ``radius_fraction`` of the image around its points are marked in every frame it is seen.
    A point on an object that moves (or the edge of a moving shadow) is such a track, also when it moves
    along the epipolar lines where two-view flow tests cannot see it.
    """
    import cv2

    from ..curation.sfm import klt_feature_tracks

    n, h, w = frames.shape[:3]
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    tracks = klt_feature_tracks(gray, None)
    Kp = np.asarray(K, dtype=np.float64).copy()
    Kp[0] *= w
    Kp[1] *= h
    P = {t: Kp @ np.linalg.inv(c2w[t])[:3] for t in range(n) if registered[t]}
    seen: dict[int, list[tuple[int, np.ndarray]]] = {}
    for t, (ids, xy) in enumerate(tracks):
        if t in P:
            for i, p in zip(ids.tolist(), xy.astype(np.float64) + 0.5):  # pixel centres at +0.5
                seen.setdefault(i, []).append((t, p))
    residuals: dict[int, float] = {}
    for i, obs in seen.items():
        if len(obs) < 3:
            continue
        A = np.concatenate([np.stack([p[0] * P[t][2] - P[t][0], p[1] * P[t][2] - P[t][1]]) for t, p in obs])
        X = np.linalg.svd(A)[2][-1]
        if abs(X[3]) < 1e-12:
            continue
        X = X / X[3]
        err: list[float] = []
        for t, p in obs:
            x = P[t] @ X
            err.append(float(np.linalg.norm(x[:2] / x[2] - p)) if x[2] > 1e-9 else 1e3)
        residuals[i] = float(np.sqrt(np.mean(np.square(err))))
    moving = np.zeros((n, h, w), np.uint8)
    if not residuals:
        return moving.astype(bool)
    fraction = INCONSISTENT_FRACTION if threshold_fraction is None else threshold_fraction
    factor = INCONSISTENT_MEDIAN_FACTOR if median_factor is None else median_factor
    threshold = max(fraction * max(h, w), factor * float(np.median(list(residuals.values()))))
    radius = max(2, int(round(radius_fraction * max(h, w))))
    for i, r in residuals.items():
        if r > threshold:
            for t, p in seen[i]:
                cv2.circle(moving[t], (int(p[0]), int(p[1])), radius, 1, -1)
    return moving.astype(bool)
