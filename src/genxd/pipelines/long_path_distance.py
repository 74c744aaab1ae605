"""Camera distances for the long-path plans (:mod:`genxd.pipelines.long_path_plans`), computed on demand.

A plan asks for the distances between a few frames and the rest (a window's new frames against the frames
made so far), never for all pairs: :class:`CameraDistances` computes just those entries, so a plan of ``N``
frames holds ``O(N * window)`` distances rather than ``N * N`` (128 MiB of float64 at 4,096 frames, about
3 GB with ``torch.cdist``'s temporaries at 10,000). The frames made so far nearest to a window
(:meth:`CameraDistances.nearest`) are found through a k-d tree of the cameras, so a plan computes about
``O(N * window)`` distances in all, not ``O(N * N * window)``. Each entry is computed by the same elementwise float64
operations whatever else is asked with it (the exact difference-based formula, not ``torch.cdist``'s matrix
product, whose rounding changes with the shape of the call and left identical cameras about 6e-8 apart), so a
plan does not depend on how its distances were grouped: :func:`camera_distance` (all pairs) holds the same
values.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["CameraDistances", "Distances", "as_distances", "camera_distance"]

_ROW_BLOCK = 256  # rows per block of camera_distance's matrix (bounds the temporaries)
_BRUTE_FORCE = 512  # nearest(): distances computed directly up to this many (pool frames x targets)
_MAX_ROTATION_NORM = 2.2  # nearest()'s tree bound holds while |R_i - R_j|_F <= pi sqrt(2) (rotations: sqrt(3) each)
#: no tree past this coordinate: the tree's squared distances overflow from about 1e154 (cKDTree then answers
#: frame N, "no neighbour"), and past 1e150 its rounding margin would not hold
_MAX_COORDINATE = 1e150
#: nearest()'s ball around a target: the bound grown by ``_RELATIVE_MARGIN`` (the rounding of the camera distance and
#: of the tree's sums, each some 1e-15 of the distance) plus ``_COORDINATE_MARGIN`` of the largest coordinate (the
#: points' own rounding, 2^-53 of a coordinate each: about 1e-15 of it over 13 coordinates) plus an absolute
#: ``_ABSOLUTE_MARGIN`` (squares of subnormal differences: about 1e-161); each some hundred times what rounding can
#: take. A margin of 1e-9 of the largest coordinate (until 2026-12-05) was larger than the steps of a path far from
#: the origin (centres at 1e7, 0.5 µm steps: every frame in every ball)
_RELATIVE_MARGIN = 1e-12
_COORDINATE_MARGIN = 1e-13
_ABSOLUTE_MARGIN = 1e-150


def _nearest_of(dist: "Distances", rows: np.ndarray, targets: np.ndarray, k: int) -> list[int]:
    """The first ``k`` of ``rows`` (ascending frames) by their distance to the nearest of ``targets``: a stable
    sort (equal distances: the lower frame first; NaN last, as ``torch.sort``)."""
    if not len(rows) or k <= 0:
        return []
    near = dist.block(rows, targets).detach().cpu().to(torch.float64).numpy().min(axis=1)  # exact: any float dtype
    return rows[np.argsort(near, kind="stable")[:k]].tolist()


class CameraDistances:
    """The distances of :func:`camera_distance` between the cameras ``c2w [N, 4, 4]``, entry by entry on
    demand: :meth:`block` (rows x columns) and :meth:`pairs` (element by element)."""

    def __init__(self, c2w: Tensor, K: Tensor | None = None, depth: float = 1.0) -> None:
        c2w = torch.as_tensor(c2w, dtype=torch.float64)
        self.num_frames = int(c2w.shape[0])
        self.depth = float(depth)
        self._centres = [c2w[:, k, 3].contiguous() for k in range(3)]
        self._rotation = [c2w[:, r, c].contiguous() for r in range(3) for c in range(3)]
        self._logf = None if K is None else _focal_lengths(K, self.num_frames).log()
        self._tree_state: tuple[Any, np.ndarray, float] | None = None  # (tree or None, points, scale): _tree()
        self._poses: _DistinctPoses | None = None  # the frames grouped by bit-identical coordinates: _tree()

    def __len__(self) -> int:
        return self.num_frames

    @staticmethod
    def _norm(columns: list[Tensor], a: Tensor, b: Tensor) -> Tensor:
        """``|x_a - x_b|`` (broadcast), summed coordinate by coordinate in a fixed order."""
        total: Tensor | None = None
        for col in columns:
            d = col[a] - col[b]
            total = d * d if total is None else total + d * d
        assert total is not None
        return total.sqrt()

    def _values(self, a: Tensor, b: Tensor) -> Tensor:
        d = self._norm(self._centres, a, b) / self.depth
        # rotation angle: |R_i - R_j|_F = 2 sqrt(2) sin(angle / 2) (stable near 0, unlike arccos of the trace)
        frob = self._norm(self._rotation, a, b)
        d = d + 2 * torch.arcsin((frob / (2 * math.sqrt(2))).clamp(max=1.0))
        if self._logf is not None:
            d = d + (self._logf[a] - self._logf[b]).abs()
        return d

    def block(self, rows: Sequence[int] | np.ndarray | Tensor,
              cols: Sequence[int] | np.ndarray | Tensor | None = None) -> Tensor:
        """``[len(rows), len(cols)]`` distances (``cols`` None: every frame)."""
        r = torch.as_tensor(rows, dtype=torch.long).reshape(-1)
        c = torch.arange(self.num_frames) if cols is None else torch.as_tensor(cols, dtype=torch.long).reshape(-1)
        return self._values(r[:, None], c[None, :])

    def pairs(self, a: Sequence[int] | Tensor, b: Sequence[int] | Tensor) -> Tensor:
        """The distance of ``a[k]`` to ``b[k]`` for each ``k``."""
        return self._values(torch.as_tensor(a, dtype=torch.long).reshape(-1), torch.as_tensor(b, dtype=torch.long).reshape(-1))

    def _tree(self) -> tuple[Any, np.ndarray, float]:
        """A k-d tree of the distinct cameras as points whose Euclidean distance never exceeds their camera distance
        (centre / depth, R / sqrt(2), log f: ``2 arcsin(x) >= 2 x`` makes the rotation term at least
        ``|R_i - R_j|_F / sqrt(2)``, and a sum of terms is at least their root sum of squares), the points ``[P, D]``
        (one per group of :class:`_DistinctPoses`) and their largest coordinate; no tree where that bound may fail
        (non-finite values, a depth <= 0, matrices far from rotations) or the tree's squared distances may overflow
        (coordinates past ``_MAX_COORDINATE``)."""
        if self._tree_state is None:
            cols = [c / self.depth for c in self._centres] + [r / math.sqrt(2) for r in self._rotation]
            cols += [] if self._logf is None else [self._logf]
            points = torch.stack(cols, dim=1).numpy()
            rot_norm = torch.stack(self._rotation, dim=1).norm(dim=1)
            ok = (self.depth > 0 and math.isfinite(self.depth) and bool(np.isfinite(points).all())
                  and bool((rot_norm <= _MAX_ROTATION_NORM).all()) and self.num_frames > 0)
            scale = float(np.abs(points).max(initial=0.0)) if ok else math.inf
            tree = None
            if ok and scale <= _MAX_COORDINATE:
                from scipy.spatial import cKDTree

                self._poses = _DistinctPoses(self._coordinates())
                points = points[self._poses.first]
                tree = cKDTree(points)
            self._tree_state = (tree, points, scale)
        return self._tree_state

    def _coordinates(self) -> np.ndarray:
        """``[N, 12 or 13]`` float64: every value :meth:`_values` reads of a frame (centre, rotation, log f)."""
        cols = self._centres + self._rotation + ([] if self._logf is None else [self._logf])
        return torch.stack(cols, dim=1).numpy()

    def nearest(self, pool: np.ndarray, targets: Sequence[int], k: int) -> list[int]:
        """The ``k`` frames of ``pool`` (a boolean mask of the frames) nearest to any frame of ``targets``, the
        nearest first, equal distances the lower frame first: the first ``k`` of a stable sort of the row minima
        of ``block(frames of pool, targets)``, computing only the distances of frames that may be among them.

        The tree's distance never exceeds the camera distance, so every frame at most ``T`` from a target (``T``:
        the ``k``-th smallest distance among the pool's frames nearest in the tree) lies in the tree's ball of
        radius ``T`` (plus a margin for rounding) around that target; the frames outside are farther than the
        ``k`` chosen, ties included."""
        target_frames = np.asarray(targets, dtype=np.int64).reshape(-1)
        count = int(pool.sum())
        if k <= 0 or not count or not len(target_frames):
            return []
        tree, points, scale = self._tree()
        if tree is None or count * len(target_frames) <= _BRUTE_FORCE or count <= k:
            return _nearest_of(self, np.flatnonzero(pool), target_frames, k)
        poses = self._poses
        assert poses is not None
        num_points = len(points)
        target_points = points[np.unique(poses.point_of[target_frames])]
        m = min(num_points, 2 * k + len(target_points) + 8)
        while True:  # enough of the pool's frames near the targets in the tree for an upper bound on the k-th
            _, idx = tree.query(target_points, k=m)
            cand = np.unique(idx)
            cand = cand[cand < num_points]  # P: no neighbour (cKDTree's answer where a distance is not finite)
            frames = poses.pool_frames(cand, pool, k)
            if len(frames) >= k:
                break
            if m == num_points:  # frames without a finite tree distance: the exact way
                return _nearest_of(self, np.flatnonzero(pool), target_frames, k)
            m = min(num_points, 4 * m)
        near = self.block(frames, target_frames).numpy().min(axis=1)
        bound = float(np.partition(near, k - 1)[k - 1])
        radius = bound * (1 + _RELATIVE_MARGIN) + _COORDINATE_MARGIN * scale + _ABSOLUTE_MARGIN
        if not math.isfinite(radius):  # a distance not finite (NaN, or past float64): no ball holds the guarantee
            return _nearest_of(self, np.flatnonzero(pool), target_frames, k)
        balls = tree.query_ball_point(target_points, radius)
        cand = np.unique(np.concatenate([np.asarray(b, dtype=np.int64) for b in balls]))
        return _nearest_of(self, np.sort(poses.pool_frames(cand, pool, k)), target_frames, k)


class _DistinctPoses:
    """The frames grouped by bit-identical coordinates ``[N, D]`` (those :meth:`CameraDistances._values` reads):
    frames of a group are at the same distance from every frame, so :meth:`CameraDistances.nearest`'s tree holds
    each group once and takes at most ``k`` of a group's frames, the lowest (a stable sort puts the others after
    them: a path of one pose repeated no longer computes every frame's distance to each window)."""

    def __init__(self, coordinates: np.ndarray) -> None:
        bits = np.ascontiguousarray(coordinates).view(np.uint64)
        _, self.first, self.point_of = np.unique(bits, axis=0, return_index=True, return_inverse=True)
        self.point_of = self.point_of.reshape(-1)
        #: the frames, group by group (ascending within each): the group of point p is frames[starts[p]:starts[p + 1]]
        self.frames = np.argsort(self.point_of, kind="stable")
        self.sizes = np.bincount(self.point_of, minlength=len(self.first))
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)])

    def pool_frames(self, points: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
        """The frames of ``pool`` (a boolean mask) in the groups of ``points``: the lowest ``k`` of each group."""
        single = points[self.sizes[points] == 1]
        out = [self.frames[self.starts[single]]]
        for p in points[self.sizes[points] > 1]:
            group = self.frames[self.starts[p]:self.starts[p + 1]]
            out.append(group[pool[group]][:k])
        frames = np.concatenate(out)
        return frames[pool[frames]]


def _focal_lengths(K: Tensor, num_frames: int) -> Tensor:
    """``fx`` of ``K [N, 3, 3]`` (or ``[1, 3, 3]``: shared by the ``num_frames`` cameras) as float64 ``[N]``; a
    ValueError for any other shape (intrinsics of other cameras than the path's)."""
    K = torch.as_tensor(K, dtype=torch.float64)
    if K.dim() != 3 or tuple(K.shape[1:]) != (3, 3) or K.shape[0] not in (1, num_frames):
        raise ValueError(f"K must be [{num_frames}, 3, 3] or [1, 3, 3] for {num_frames} cameras, "
                         f"got {list(K.shape)}")
    return K[:, 0, 0].expand(num_frames)


class _DenseDistances:
    """:class:`CameraDistances`'s interface over a given ``[N, N]`` matrix (of any float dtype and device; one that
    requires grad is read detached)."""

    def __init__(self, dist: Tensor) -> None:
        self.dist = torch.as_tensor(dist).detach()
        self.num_frames = int(self.dist.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    def block(self, rows: Sequence[int] | np.ndarray | Tensor,
              cols: Sequence[int] | np.ndarray | Tensor | None = None) -> Tensor:
        r = torch.as_tensor(rows, dtype=torch.long).reshape(-1)
        out = self.dist[r]
        return out if cols is None else out[:, torch.as_tensor(cols, dtype=torch.long).reshape(-1)]

    def pairs(self, a: Sequence[int] | Tensor, b: Sequence[int] | Tensor) -> Tensor:
        return self.dist[torch.as_tensor(a, dtype=torch.long).reshape(-1), torch.as_tensor(b, dtype=torch.long).reshape(-1)]

    def nearest(self, pool: np.ndarray, targets: Sequence[int], k: int) -> list[int]:
        """:meth:`CameraDistances.nearest` from the matrix."""
        return _nearest_of(self, np.flatnonzero(pool), np.asarray(targets, dtype=np.int64).reshape(-1), k)


Distances = CameraDistances | _DenseDistances


def as_distances(dist: Tensor | Distances) -> Distances:
    """``dist`` as a :class:`CameraDistances`-like object (an ``[N, N]`` matrix is wrapped)."""
    return dist if isinstance(dist, (CameraDistances, _DenseDistances)) else _DenseDistances(dist)


def camera_distance(c2w: Tensor, K: Tensor | None = None, depth: float = 1.0) -> Tensor:
    """``[N, N]`` distance between the cameras ``c2w [N, 4, 4]`` (OpenCV camera-to-world):
    ``|centre_i - centre_j| / depth + angle(R_i, R_j) + |log(fx_i / fx_j)|`` (radians for the angle).

    ``depth`` is the distance to the scene the model works at (its training data put the median scene
    depth at 1): it weighs a translation against a rotation (a rotation of ``a`` radians moves the
    view about as much as a sideways step of ``a * depth``). ``K [N, 3, 3]`` (or ``[1, 3, 3]``: one for all)
    adds the zoom term.
    All ``N * N`` values: the plans ask :class:`CameraDistances` (the same values) for the few they use.
    """
    lazy = CameraDistances(c2w, K, depth)
    n = lazy.num_frames
    return torch.cat([lazy.block(range(s, min(s + _ROW_BLOCK, n))) for s in range(0, n, _ROW_BLOCK)]) if n else \
        torch.zeros(0, 0, dtype=torch.float64)
