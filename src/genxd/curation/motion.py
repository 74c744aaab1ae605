"""Object motion strength (GenXD's curation): motion of tracked object points not explained by the camera.

With dense depth maps (a depth model aligned to SfM, the sparse SfM fallback, or known depth) the motion
is measured frame pair by frame pair (:mod:`genxd.curation.motion_pairs`): that estimator matches the
ground truth (``genxd.data.synthetic.image_motion_strength``) within 15% on synthetic clips given
instance masks (``docs/curation_accuracy.md``). Without depth maps (``fallback_depth="triangulate"``) the
estimator below is used: for points tracked on each masked object (KLT, ``cv2.calcOpticalFlowPyrLK``, chained frame to frame
with a forward-backward check), the point seen at pixel ``p_i`` in frame ``i`` is back-projected
with its depth ``z_i`` and the SfM pose of frame ``i``, then re-projected into frame ``j`` with the
pose of frame ``j``, giving ``p_ij`` (where the point would be if it were static). Its 2D motion is

    M_ij = (u_j - u_ij, v_j - v_ij) / min(W, H)

(image units: pixels over the shorter side, ``docs/conventions.md``), for the pairs ``j = i + frame_gap``, divided by ``frame_gap`` (a
per-frame speed, so clips of any length compare). Per object: the median of ``|M_ij| / gap`` over
its points and pairs; the video's **motion strength** is the largest per-object value. A video is
``dynamic`` when its strength exceeds the threshold (:data:`DEFAULT_MOTION_THRESHOLD`), else
``static``.

Depth ``z_i`` comes from dense depth maps when given (aligned model depth, or interpolated SfM
depth), else from triangulating the track with the SfM cameras (a static point is then exactly
consistent; a moving point is not, unless it moves along the epipolar lines at the speed of a
static point at another depth, which no monocular method can tell apart). It under-measures moving
objects (about half on synthetic clips: tracks chained from anchors lose fast points, corners sit on
silhouettes, and the triangulated depth absorbs the motion along the epipolar lines) but needs no depth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from .depth import sample_map
from .motion_pairs import DEFAULT_MOTION_THRESHOLD, PairSettings, pair_motion
from .sfm import SfmResult

__all__ = [
    "DEFAULT_MOTION_THRESHOLD",
    "MotionSettings",
    "ObjectMotion",
    "MotionResult",
    "track_points",
    "triangulate_tracks",
    "point_motion",
    "estimate_object_motion",
    "verdict",
]



def verdict(strength: float, threshold: float = DEFAULT_MOTION_THRESHOLD) -> str:
    """``"dynamic"`` when ``strength > threshold`` else ``"static"``."""
    return "dynamic" if strength > threshold else "static"


@dataclass
class MotionSettings:
    """Knobs of the motion stage (sizes are fractions of the image's longer side where noted)."""

    threshold: float = DEFAULT_MOTION_THRESHOLD
    frame_gap: int = 3
    num_anchors: int = 3
    max_points_per_object: int = 64
    min_points_per_object: int = 6
    fb_threshold_px: float = 1.0
    window_fraction: float = 0.1
    pyramid_levels: int = 3
    # frame-pair estimator (with depth maps), see genxd.curation.motion_pairs.PairSettings
    grid_fraction: float = 1 / 64
    edge_fraction: float = 0.03
    pair_window_fraction: float = 0.055
    pair_fb_threshold_fraction: float = 0.5 / 128
    min_samples: int = 20
    epipolar_gate: float = 0.0
    reliable_fraction: float = 0.35

    def pair_settings(self) -> PairSettings:
        return PairSettings(
            frame_gap=self.frame_gap, grid_fraction=self.grid_fraction, edge_fraction=self.edge_fraction,
            window_fraction=self.pair_window_fraction, pyramid_levels=self.pyramid_levels,
            fb_threshold_fraction=self.pair_fb_threshold_fraction, min_samples=self.min_samples,
            epipolar_gate=self.epipolar_gate, reliable_fraction=self.reliable_fraction, static_below=self.threshold,
        )


@dataclass
class ObjectMotion:
    """One object and its motion magnitude: a mask component in an anchor frame (track estimator), or
    components linked over frames starting at ``anchor_frame`` (pair estimator; ``num_points`` counts
    its point samples over all pairs)."""

    anchor_frame: int
    label: int
    area_fraction: float
    num_points: int
    magnitude: float


@dataclass
class MotionResult:
    """Result of the motion stage: strength (max over objects), verdict, and per-object details."""

    strength: float
    verdict: str
    threshold: float
    depth_source: str
    objects: list[ObjectMotion] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "motion_strength": self.strength,
            "verdict": self.verdict,
            "motion_threshold": self.threshold,
            "depth_source": self.depth_source,
            "objects": [asdict(o) for o in self.objects],
        }


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def track_points(
    gray: list[np.ndarray],
    anchor: int,
    points: np.ndarray,
    window: int = 15,
    levels: int = 3,
    fb_threshold_px: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Track points from frame ``anchor`` forwards and backwards through the whole clip (KLT).

    Args:
        gray: ``N`` gray frames ``uint8 [H, W]``.
        anchor: frame where ``points`` are given.
        points: ``float32 [P, 2]`` OpenCV pixel coordinates (pixel centres at integers).
    Returns:
        tracks ``float32 [N, P, 2]`` (OpenCV pixel coordinates), valid ``bool [N, P]``. A point is
        dropped from the frame where the forward-backward check fails or it leaves the image.
    """
    n = len(gray)
    h, w = gray[0].shape[:2]
    p = points.astype(np.float32).reshape(-1, 2)
    tracks = np.zeros((n, p.shape[0], 2), np.float32)
    valid = np.zeros((n, p.shape[0]), bool)
    tracks[anchor] = p
    valid[anchor] = True
    params: dict[str, Any] = dict(
        winSize=(window, window),
        maxLevel=levels,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
    )
    for step in (1, -1):
        current = p.copy()
        alive = np.ones(p.shape[0], bool)
        t = anchor
        while 0 <= t + step < n and alive.any():
            nxt = t + step
            idx = np.flatnonzero(alive)
            src = current[idx].reshape(-1, 1, 2)
            dst, status, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[nxt], src, None, **params)
            back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray[nxt], gray[t], dst, None, **params)
            dst, back = dst.reshape(-1, 2), back.reshape(-1, 2)
            ok = (status.ravel() == 1) & (status_back.ravel() == 1)
            ok &= np.linalg.norm(back - src.reshape(-1, 2), axis=1) < fb_threshold_px
            ok &= (dst[:, 0] >= 0) & (dst[:, 0] <= w - 1) & (dst[:, 1] >= 0) & (dst[:, 1] <= h - 1)
            alive[idx[~ok]] = False
            current[idx[ok]] = dst[ok]
            tracks[nxt, idx[ok]] = dst[ok]
            valid[nxt, idx[ok]] = True
            t = nxt
    return tracks, valid


def _w2c(c2w: np.ndarray) -> np.ndarray:
    R = c2w[..., :3, :3]
    t = c2w[..., :3, 3]
    out = np.zeros(c2w.shape[:-2] + (3, 4))
    out[..., :3, :3] = np.swapaxes(R, -1, -2)
    out[..., :3, 3] = -np.einsum("...ji,...j->...i", R, t)
    return out


def triangulate_tracks(xy: np.ndarray, valid: np.ndarray, c2w: np.ndarray, camera) -> tuple[np.ndarray, np.ndarray]:
    """Linear (DLT) triangulation of tracks with known cameras.

    Args:
        xy: ``[N, P, 2]`` COLMAP pixel coordinates; valid: ``bool [N, P]`` (registered frames only).
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world; camera: the shared ``pycolmap.Camera``.
    Returns:
        points ``[P, 3]`` world coordinates, ok ``bool [P]`` (>= 2 views, in front of them).
    """
    n, p = valid.shape
    w2c = _w2c(np.nan_to_num(c2w))  # N 3 4
    normalized = np.zeros((n, p, 2))
    for t in range(n):
        if valid[t].any():
            normalized[t, valid[t]] = camera.cam_from_img(xy[t, valid[t]].astype(np.float64))
    # Rows x * P3 - P1 and y * P3 - P2 for each view; invalid views get zero rows.
    rows_x = normalized[..., 0:1] * w2c[:, None, 2, :] - w2c[:, None, 0, :]  # N P 4
    rows_y = normalized[..., 1:2] * w2c[:, None, 2, :] - w2c[:, None, 1, :]
    A = np.concatenate([rows_x, rows_y], axis=0) * np.concatenate([valid, valid], axis=0)[..., None]
    A = np.transpose(A, (1, 0, 2))  # P 2N 4
    _, _, vt = np.linalg.svd(A)
    X = vt[:, -1, :]
    ok = (valid.sum(0) >= 2) & (np.abs(X[:, 3]) > 1e-12)
    points = X[:, :3] / np.where(np.abs(X[:, 3:]) > 1e-12, X[:, 3:], 1.0)
    z = np.einsum("nj,pj->np", w2c[:, 2, :3], points) + w2c[:, None, 2, 3]
    ok &= np.all((z > 0) | ~valid, axis=0)
    return points, ok


def point_motion(
    xy: np.ndarray,
    valid: np.ndarray,
    depth: np.ndarray,
    c2w: np.ndarray,
    camera,
    width: int,
    height: int,
    frame_gap: int,
) -> tuple[np.ndarray, np.ndarray]:
    """GenXD's ``M_ij``: motion of tracked points not explained by the camera, per frame pair.

    Args:
        xy: ``[N, P, 2]`` COLMAP pixel coordinates; valid ``bool [N, P]``;
        depth: ``[N, P]`` z-depth of each observation; c2w ``[N, 4, 4]``; camera: pycolmap camera.
        frame_gap: compare frames ``i`` and ``j = i + frame_gap``.
    Returns:
        magnitudes ``[S]``: ``|M_ij| / frame_gap`` (image units per frame) for every
        valid (point, pair) sample; points ``[S]``: the point index of each sample.
    """
    n, _ = valid.shape
    w2c = _w2c(np.nan_to_num(c2w))
    scale = float(min(width, height))  # normalised by the shorter side (docs/conventions.md)
    magnitudes, owners = [], []
    for i in range(n - frame_gap):
        j = i + frame_gap
        ok = valid[i] & valid[j] & np.isfinite(depth[i]) & (depth[i] > 0)
        if not ok.any():
            continue
        idx = np.flatnonzero(ok)
        ray = camera.cam_from_img(xy[i, idx].astype(np.float64))  # x/z, y/z
        cam_i = np.concatenate([ray, np.ones((len(idx), 1))], axis=1) * depth[i, idx, None]
        world = (cam_i - w2c[i, :, 3]) @ w2c[i, :, :3]  # R^T (x - t)
        cam_j = world @ w2c[j, :, :3].T + w2c[j, :, 3]
        front = cam_j[:, 2] > 1e-9
        if not front.any():
            continue
        idx, cam_j = idx[front], cam_j[front]
        projected = camera.img_from_cam(cam_j, check_cheirality=False)  # (u_ij, v_ij)
        m = (xy[j, idx] - projected) / scale
        magnitudes.append(np.linalg.norm(m, axis=1) / frame_gap)
        owners.append(idx)
    if not magnitudes:
        return np.zeros(0), np.zeros(0, int)
    return np.concatenate(magnitudes), np.concatenate(owners)


def _object_points(gray: np.ndarray, mask: np.ndarray, max_points: int, min_distance: int) -> np.ndarray:
    """``float32 [P, 2]`` trackable corners (Shi-Tomasi) inside ``mask``; none on flat regions."""
    corners = cv2.goodFeaturesToTrack(
        gray, maxCorners=max_points, qualityLevel=0.02, minDistance=min_distance,
        mask=mask.astype(np.uint8), blockSize=5,
    )
    if corners is None:
        return np.zeros((0, 2), np.float32)
    return corners.reshape(-1, 2).astype(np.float32)


def estimate_object_motion(
    frames: np.ndarray,
    labels: np.ndarray,
    sfm: SfmResult,
    depth_maps: np.ndarray | None = None,
    settings: MotionSettings | None = None,
    depth_source: str | None = None,
) -> MotionResult:
    """Motion strength of a clip from its object labels, SfM cameras and (optionally) depth.

    Args:
        frames: ``uint8 [N, H, W, 3]``; labels: ``int32 [N, H, W]`` per-frame object ids (0 = none).
        sfm: the SfM result (poses of registered frames, shared camera).
        depth_maps: ``[N, H, W]`` z-depth: measured pair by pair (:func:`~genxd.curation.motion_pairs.pair_motion`);
            None: long tracks from anchor frames, each triangulated with the SfM cameras.
        depth_source: label stored in the result (default: "maps" or "triangulated").
    """
    settings = settings or MotionSettings()
    n, h, w = frames.shape[:3]
    if labels.shape != (n, h, w):
        raise ValueError(f"labels must be [N, H, W] = {(n, h, w)}, got {labels.shape}")
    source = depth_source or ("maps" if depth_maps is not None else "triangulated")
    registered_idx = np.flatnonzero(sfm.registered)
    gap = max(1, min(settings.frame_gap, n - 1))
    if len(registered_idx) < 2:
        return MotionResult(0.0, verdict(0.0, settings.threshold), settings.threshold, source)
    camera = next(iter(sfm.reconstruction.cameras.values()))
    gray = [_gray(f) for f in frames]
    if depth_maps is not None:
        found = pair_motion(gray, labels, sfm.c2w, sfm.registered, camera, depth_maps, settings.pair_settings())
        pair_objects = [ObjectMotion(o.first_frame, o.label, o.area_fraction, o.num_samples, o.magnitude) for o in found]
        strength = max((o.magnitude for o in pair_objects), default=0.0)
        return MotionResult(strength, verdict(strength, settings.threshold), settings.threshold, source, pair_objects)
    anchors = np.unique(registered_idx[np.linspace(0, len(registered_idx) - 1, settings.num_anchors).round().astype(int)])
    window = max(9, int(round(settings.window_fraction * max(h, w))) | 1)
    min_distance = max(1, int(round(0.01 * max(h, w))))
    objects: list[ObjectMotion] = []
    for anchor in anchors:
        anchor_labels = labels[anchor]
        ids = [k for k in np.unique(anchor_labels) if k != 0]
        if not ids:
            continue
        points, owner = [], []
        for k in ids:
            pts = _object_points(gray[anchor], anchor_labels == k, settings.max_points_per_object, min_distance)
            points.append(pts)
            owner.append(np.full(len(pts), k))
        pts_all = np.concatenate(points)
        owner_all = np.concatenate(owner)
        if len(pts_all) == 0:
            continue
        tracks, valid = track_points(
            gray, int(anchor), pts_all, window, settings.pyramid_levels, settings.fb_threshold_px
        )
        valid &= sfm.registered[:, None]
        xy = tracks.astype(np.float64) + 0.5  # OpenCV -> COLMAP pixel coordinates
        if depth_maps is not None:
            depth = np.full(valid.shape, np.nan)
            for t in np.flatnonzero(valid.any(1)):
                depth[t, valid[t]] = sample_map(depth_maps[t], xy[t, valid[t]])
        else:
            world, ok = triangulate_tracks(xy, valid, sfm.c2w, camera)
            w2c = _w2c(np.nan_to_num(sfm.c2w))
            depth = np.einsum("nj,pj->np", w2c[:, 2, :3], world) + w2c[:, None, 2, 3]
            depth[:, ~ok] = np.nan
        magnitudes, sample_points = point_motion(xy, valid, depth, sfm.c2w, camera, w, h, gap)
        sample_owner = owner_all[sample_points]
        for k in ids:
            mine = sample_owner == k
            num_points = len(np.unique(sample_points[mine]))
            if num_points < settings.min_points_per_object:
                continue
            area = float((anchor_labels == k).mean())
            objects.append(ObjectMotion(int(anchor), int(k), area, num_points, float(np.median(magnitudes[mine]))))
    strength = max((o.magnitude for o in objects), default=0.0)
    return MotionResult(strength, verdict(strength, settings.threshold), settings.threshold, source, objects)
