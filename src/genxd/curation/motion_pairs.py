"""Object motion measured frame pair by frame pair, with dense depth (the estimator used when depth maps
are available: a depth model aligned to SfM, the sparse SfM fallback, or known depth).

For every registered pair ``(i, j = i + gap)`` and every object (mask component) of frame ``i``:

1. points on a regular grid inside the component's *core* (the mask eroded by ``edge_fraction`` of the
   image size: tracking windows that straddle the silhouette follow the background and under-measure),
2. each point is back-projected with its depth and the pose of frame ``i`` and re-projected into frame
   ``j``: ``p_ij``, where it would be if it were static;
3. the point is tracked into frame ``j`` with pyramidal KLT *starting from* ``p_ij`` (so only the object's
   own motion has to be found, however fast the camera moves), forward-backward checked;
4. ``|M_ij| = |p_j - p_ij| / min(W, H) / gap`` (image units per frame: pixels over the shorter side, so the
   value does not depend on the direction of the motion, or change when a training crop keeps that side).

Each pair's samples of a component are weighted by ``component pixels / tracked points``, so that every
frame counts in proportion to the object's visible area, as in the ground truth
(``genxd.data.synthetic.image_motion_strength``), whatever fraction of the points tracking kept (fast
phases lose more points). Components are linked into objects across frames (tracked points that land in a
component of frame ``j``; components of consecutive frames that overlap); an object's magnitude is the
weighted median of its samples, the clip's strength the largest object magnitude. An object counts as moving
only where it was tracked well: when the pairs that kept at least ``reliable_fraction`` of its points give a
magnitude at or below ``static_below`` (the verdict threshold), that is its magnitude. Flow masks on static
ground with repeated texture (checkers) or long edges are tracked badly (KLT locks onto the wrong period,
consistently both ways; the few points kept then carry the pair's whole weight) and read as fast motion; real
objects are tracked well in most pairs (docs/curation_accuracy.md, dev clips).

Why not long tracks from a few anchor frames (the earlier estimator, still used for triangulated depth):
chained tracks lose fast-moving points first, so the median drifts to the slow phases; corners sit on
silhouettes; and a depth triangulated from the track itself absorbs the part of the object's motion that
runs along the epipolar lines. Measured against the ground truth in ``docs/curation_accuracy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

#: Motion strength (normalised image displacement per frame) above which a video is "dynamic":
#: 0.64 px per frame at 128 px, 1.3 px at 256 px. Calibrated on synthetic clips with the classical
#: fallbacks (flow masks, triangulated depth), see docs/curation_accuracy.md; recalibrate with learned models.
DEFAULT_MOTION_THRESHOLD = 0.005

__all__ = ["PairSettings", "PairObject", "pair_motion"]


@dataclass
class PairSettings:
    """Knobs of :func:`pair_motion` (fractions are of the image's longer side)."""

    frame_gap: int = 3
    grid_fraction: float = 1 / 64  # point spacing: 2 px at 128, 4 px at 256
    edge_fraction: float = 0.03  # mask erosion before sampling: 4 px at 128
    window_fraction: float = 0.055  # KLT window: 7 px at 128, 15 px at 256
    pyramid_levels: int = 3
    fb_threshold_fraction: float = 0.5 / 128  # KLT forward-backward error: 0.5 px at 128, 1 px at 256
    min_samples: int = 20
    link_fraction: float = 0.2  # a pair's points that must land in a component to link it
    #: a component whose tracks in a pair stay within this distance (per frame, normalised) of their
    #: epipolar lines is explainable as static scene at some depth: its samples there are the epipolar
    #: distances (a depth-free lower bound) instead of ``|M_ij|``, which a wrong depth inflates
    epipolar_gate: float = 0.0
    #: Gaussian blur of the frames before tracking (sigma: 1 px at 128, 2 px at 256): texture aliasing
    #: (rendered or real) otherwise makes fine patterns seem to move
    blur_sigma_fraction: float = 1 / 128
    overlap_fraction: float = 0.3  # overlap (of the smaller) that links components of consecutive frames
    #: a pair *tracked* a component when KLT kept (forward-backward check) at least this fraction of its points;
    #: pairs that lose more are mostly repeated texture or aperture-bound edges (KLT locks onto the wrong
    #: period, consistently both ways), or fast phases
    reliable_fraction: float = 0.35
    #: an object whose tracked pairs alone give a magnitude at or below this (the verdict threshold, see
    #: :class:`genxd.curation.motion.MotionSettings`) gets that magnitude: it is moving only if the pairs that
    #: tracked it well show it moving
    static_below: float = DEFAULT_MOTION_THRESHOLD


@dataclass
class PairObject:
    """One object: components linked over frames, and the weighted median of its samples."""

    first_frame: int
    label: int
    num_frames: int
    num_samples: int
    area_fraction: float  # mean area of its components (fraction of the image)
    magnitude: float


class _Groups:
    """Union-find over (frame, label) keys."""

    def __init__(self) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(self, key: tuple[int, int]) -> tuple[int, int]:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _cores(labels: np.ndarray, radius: int) -> np.ndarray:
    """Each component eroded by ``radius`` pixels on its own (touching components erode each other too)."""
    if radius <= 0:
        return labels
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    out = np.zeros_like(labels)
    for k in np.unique(labels):
        if k != 0:
            out[cv2.erode((labels == k).astype(np.uint8), kernel) > 0] = k
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _w2c(c2w: np.ndarray) -> np.ndarray:
    R, t = c2w[:3, :3], c2w[:3, 3]
    out = np.zeros((3, 4))
    out[:, :3] = R.T
    out[:, 3] = -R.T @ t
    return out


def pair_motion(
    gray: list[np.ndarray],
    labels: np.ndarray,
    c2w: np.ndarray,
    registered: np.ndarray,
    camera,
    depth_maps: np.ndarray,
    settings: PairSettings | None = None,
) -> list[PairObject]:
    """Objects and their motion magnitudes (see the module docstring).

    Args:
        gray: ``N`` frames ``uint8 [H, W]``; labels: ``int [N, H, W]`` object ids per frame (0 = none).
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world; registered: ``bool [N]``.
        camera: the shared camera (``cam_from_img`` / ``img_from_cam`` in COLMAP pixel coordinates,
            pixel centres at +0.5; ``pycolmap.Camera`` or a stand-in).
        depth_maps: ``[N, H, W]`` z-depth at pixel centres (non-finite or <= 0: unknown).
    Returns:
        the objects with at least ``min_samples`` samples, largest magnitude first.
    """
    s = settings or PairSettings()
    n, h, w = labels.shape
    size = max(h, w)
    if s.blur_sigma_fraction > 0:
        gray = [cv2.GaussianBlur(g, (0, 0), s.blur_sigma_fraction * size) for g in gray]
    gap = max(1, min(s.frame_gap, n - 1))
    spacing = max(1, int(round(s.grid_fraction * size)))
    window = max(5, int(round(s.window_fraction * size)) | 1)
    params: dict[str, Any] = dict(
        winSize=(window, window),
        maxLevel=s.pyramid_levels,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )
    ys, xs = np.mgrid[spacing // 2 : h : spacing, spacing // 2 : w : spacing]
    scale = float(min(w, h))  # motion strength is normalised by the shorter side (docs/conventions.md)
    groups = _Groups()
    samples: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}  # (values, weights, tracked)
    areas: dict[tuple[int, int], float] = {}
    radius = int(round(s.edge_fraction * size))
    for i in range(n - gap):
        j = i + gap
        if not (registered[i] and registered[j]) or not labels[i].any():
            continue
        core = _cores(labels[i], radius)
        ids = core[ys, xs]
        pick = ids > 0
        if not pick.any():
            continue
        px = np.stack([xs[pick], ys[pick]], 1).astype(np.float64)  # OpenCV pixel coordinates
        ids = ids[pick]
        z = depth_maps[i][ys[pick], xs[pick]].astype(np.float64)
        ok = np.isfinite(z) & (z > 0)
        px, ids, z = px[ok], ids[ok], z[ok]
        if len(px) == 0:
            continue
        w2c_i, w2c_j = _w2c(c2w[i]), _w2c(c2w[j])
        ray = camera.cam_from_img(px + 0.5)  # COLMAP pixel coordinates -> x/z, y/z
        cam_i = np.concatenate([ray, np.ones((len(px), 1))], 1) * z[:, None]
        world = (cam_i - w2c_i[:, 3]) @ w2c_i[:, :3]
        cam_j = world @ w2c_j[:, :3].T + w2c_j[:, 3]
        front = cam_j[:, 2] > 1e-9
        predicted = np.full((len(px), 2), np.nan)
        predicted[front] = camera.img_from_cam(cam_j[front], check_cheirality=False)
        front &= np.isfinite(predicted).all(1)
        px, ids, predicted, ray = px[front], ids[front], predicted[front], ray[front]
        if len(px) == 0:
            continue
        src = px.astype(np.float32).reshape(-1, 1, 2)
        guess = (predicted - 0.5).astype(np.float32).reshape(-1, 1, 2)
        dst, status, _ = cv2.calcOpticalFlowPyrLK(gray[i], gray[j], src, guess.copy(), **params)
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray[j], gray[i], dst, src.copy(), **params)
        dst, back = dst.reshape(-1, 2).astype(np.float64), back.reshape(-1, 2)
        good = (status.ravel() == 1) & (status_back.ravel() == 1)
        good &= np.linalg.norm(back - px, axis=1) < s.fb_threshold_fraction * size
        good &= (dst[:, 0] >= 0) & (dst[:, 0] <= w - 1) & (dst[:, 1] >= 0) & (dst[:, 1] <= h - 1)
        magnitude = np.linalg.norm((dst + 0.5 - predicted) / scale, axis=1) / gap
        # the epipolar line of each point in frame j runs through its static prediction (at its depth)
        # and its vanishing point (the same ray at infinite depth: camera rotation only)
        direction = np.concatenate([ray, np.ones((len(px), 1))], 1) @ w2c_i[:, :3] @ w2c_j[:, :3].T
        far = np.full((len(px), 2), np.nan)
        ahead = direction[:, 2] > 1e-9
        far[ahead] = camera.img_from_cam(direction[ahead], check_cheirality=False)
        line = far - predicted
        length = np.linalg.norm(line, axis=1)
        defined = np.isfinite(length) & (length > 0.5)  # enough parallax for a line
        unit = line / np.where(defined, length, 1.0)[:, None]
        offset = dst + 0.5 - predicted
        across = offset - (offset * unit).sum(1, keepdims=True) * unit  # the part off the epipolar line
        epipolar = np.where(defined, np.linalg.norm(across / scale, axis=1) / gap, magnitude)
        lands = labels[j][np.clip(np.round(dst[:, 1]).astype(int), 0, h - 1), np.clip(np.round(dst[:, 0]).astype(int), 0, w - 1)]
        for k in np.unique(ids):
            mine = ids == k
            kept = mine & good
            key = (i, int(k))
            groups.find(key)
            area = float((labels[i] == k).sum())
            areas[key] = area / (h * w)
            if not kept.any():
                continue
            weight = np.full(int(kept.sum()), area / kept.sum())
            values = magnitude[kept]
            if s.epipolar_gate > 0 and np.median(epipolar[kept]) < s.epipolar_gate:  # explainable as static: depth-free lower bound
                values = epipolar[kept]
            tracked = np.full(len(values), kept.sum() >= s.reliable_fraction * mine.sum())
            samples.setdefault(key, []).append((values, weight, tracked))
            targets, counts = np.unique(lands[kept], return_counts=True)
            for target, count in zip(targets, counts):
                if target > 0 and count >= max(3, s.link_fraction * kept.sum()):
                    groups.union(key, (j, int(target)))
    for i in range(n - 1):  # components of consecutive frames that overlap are the same object
        a, b = labels[i], labels[i + 1]
        both = (a > 0) & (b > 0)
        if not both.any():
            continue
        pairs, counts = np.unique(np.stack([a[both], b[both]], 1), axis=0, return_counts=True)
        for (ka, kb), count in zip(pairs, counts):
            if count >= s.overlap_fraction * min((a == ka).sum(), (b == kb).sum()):
                groups.union((i, int(ka)), (i + 1, int(kb)))
    merged: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in samples:
        merged.setdefault(groups.find(key), []).append(key)
    objects = []
    for root, keys in merged.items():
        values = np.concatenate([v for key in keys for v, _, _ in samples[key]])
        weights = np.concatenate([wt for key in keys for _, wt, _ in samples[key]])
        if len(values) < s.min_samples:
            continue
        magnitude = _weighted_median(values, weights)
        tracked = np.concatenate([r for key in keys for _, _, r in samples[key]])
        tracked_magnitude = _weighted_median(values[tracked], weights[tracked]) if tracked.sum() >= s.min_samples else 0.0
        if tracked_magnitude <= s.static_below:  # not moving where it was tracked well
            magnitude = tracked_magnitude
        first = min(keys)
        objects.append(PairObject(
            first_frame=first[0], label=first[1], num_frames=len({k[0] for k in keys}), num_samples=len(values),
            area_fraction=float(np.mean([areas[k] for k in keys])), magnitude=magnitude,
        ))
    return sorted(objects, key=lambda o: -o.magnitude)
