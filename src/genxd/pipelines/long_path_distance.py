"""Camera distances for the long-path plans (:mod:`genxd.pipelines.long_path_plans`), computed on demand.

A plan asks for the distances between a few frames and the rest (a window's new frames against the frames
made so far), never for all pairs: :class:`CameraDistances` computes just those entries, so a plan of ``N``
frames holds ``O(N * window)`` distances rather than ``N * N`` (128 MiB of float64 at 4,096 frames, about
3 GB with ``torch.cdist``'s temporaries at 10,000). Each entry is computed by the same elementwise float64
operations whatever else is asked with it (the exact difference-based formula, not ``torch.cdist``'s matrix
product, whose rounding changes with the shape of the call and left identical cameras about 6e-8 apart), so a
plan does not depend on how its distances were grouped: :func:`camera_distance` (all pairs) holds the same
values.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["CameraDistances", "Distances", "as_distances", "camera_distance"]

_ROW_BLOCK = 256  # rows per block of camera_distance's matrix (bounds the temporaries)


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

    def block(self, rows: Sequence[int] | Tensor, cols: Sequence[int] | Tensor | None = None) -> Tensor:
        """``[len(rows), len(cols)]`` distances (``cols`` None: every frame)."""
        r = torch.as_tensor(rows, dtype=torch.long).reshape(-1)
        c = torch.arange(self.num_frames) if cols is None else torch.as_tensor(cols, dtype=torch.long).reshape(-1)
        return self._values(r[:, None], c[None, :])

    def pairs(self, a: Sequence[int] | Tensor, b: Sequence[int] | Tensor) -> Tensor:
        """The distance of ``a[k]`` to ``b[k]`` for each ``k``."""
        return self._values(torch.as_tensor(a, dtype=torch.long).reshape(-1), torch.as_tensor(b, dtype=torch.long).reshape(-1))


def _focal_lengths(K: Tensor, num_frames: int) -> Tensor:
    """``fx`` of ``K [N, 3, 3]`` (or ``[1, 3, 3]``: shared by the ``num_frames`` cameras) as float64 ``[N]``; a
    ValueError for any other shape (intrinsics of other cameras than the path's)."""
    K = torch.as_tensor(K, dtype=torch.float64)
    if K.dim() != 3 or tuple(K.shape[1:]) != (3, 3) or K.shape[0] not in (1, num_frames):
        raise ValueError(f"K must be [{num_frames}, 3, 3] or [1, 3, 3] for {num_frames} cameras, "
                         f"got {list(K.shape)}")
    return K[:, 0, 0].expand(num_frames)


class _DenseDistances:
    """:class:`CameraDistances`'s interface over a given ``[N, N]`` matrix."""

    def __init__(self, dist: Tensor) -> None:
        self.dist = torch.as_tensor(dist)
        self.num_frames = int(self.dist.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    def block(self, rows: Sequence[int] | Tensor, cols: Sequence[int] | Tensor | None = None) -> Tensor:
        r = torch.as_tensor(rows, dtype=torch.long).reshape(-1)
        out = self.dist[r]
        return out if cols is None else out[:, torch.as_tensor(cols, dtype=torch.long).reshape(-1)]

    def pairs(self, a: Sequence[int] | Tensor, b: Sequence[int] | Tensor) -> Tensor:
        return self.dist[torch.as_tensor(a, dtype=torch.long).reshape(-1), torch.as_tensor(b, dtype=torch.long).reshape(-1)]


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
