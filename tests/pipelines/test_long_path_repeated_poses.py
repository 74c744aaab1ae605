"""Long paths whose frames repeat poses (2026-12-07): ``CameraDistances.nearest`` computed, for a window, the
distance of every frame tied at distance 0 with its targets (all frames of a static path: an ``N x T`` block per
window, 21 s to plan 4,000 static frames, 68 s at 6,000); its k-d tree now holds each distinct pose once and takes at
most ``k`` of a pose's frames, the lowest. The plans stay those of the reference planner
(``benchmarks/long_path_plan_reference.py``: every generated frame's distance to each window, a stable sort)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.cameras import orbit, static
from genxd.pipelines import long_path_plans as planners
from genxd.pipelines.long_path_distance import CameraDistances, _DenseDistances, camera_distance
from genxd.pipelines.long_paths import LongPathSettings, make_plan, resolve_settings

from ..helpers import load_script


def _repeated(kind: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(c2w, K)`` of ``n`` frames: one pose (``static``), four orbit poses in turn (``four``), or eleven orbit
    poses in runs of irregular length, some with zoomed intrinsics (``runs``)."""
    return _poses(kind)[0][_pose_of(kind, n)], _poses(kind)[1][_pose_of(kind, n)]


def _poses(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct poses ``(c2w [P, 4, 4], K [P, 3, 3])`` of :func:`_repeated`."""
    if kind == "static":
        return static(num_frames=1)
    c2w, K = orbit(num_frames=11)
    K = K.clone()
    K[::3, 0, 0] *= 1.5
    return (c2w[:4], K[:4]) if kind == "four" else (c2w, K)


def _pose_of(kind: str, n: int) -> torch.Tensor:
    """``[n]`` the pose of each frame of :func:`_repeated`."""
    if kind == "static":
        return torch.zeros(n, dtype=torch.long)
    if kind == "four":
        return torch.arange(n) % 4
    g = torch.Generator().manual_seed(n)
    return torch.randint(0, 11, (n // 7 + 1,), generator=g).repeat_interleave(7)[:n]


class _BruteForce(_DenseDistances):
    """The distances of a path of repeated poses from the matrix of its distinct poses (``[P, P]``, the same values
    as :class:`CameraDistances`'s: the same elementwise operations on the same coordinates), ``nearest`` by a
    stable sort of every pool frame's distance: the plans before the k-d tree, without their ``N x N`` cost."""

    def __init__(self, kind: str, n: int) -> None:
        self.small = camera_distance(*_poses(kind)).numpy()
        self.pose = _pose_of(kind, n).numpy()
        self.num_frames = n

    def block(self, rows, cols=None):
        r = self.pose[np.asarray(rows, dtype=np.int64).reshape(-1)]
        c = self.pose if cols is None else self.pose[np.asarray(cols, dtype=np.int64).reshape(-1)]
        return torch.from_numpy(self.small[r][:, c])

    def pairs(self, a, b):
        a, b = (self.pose[np.asarray(x, dtype=np.int64).reshape(-1)] for x in (a, b))
        return torch.from_numpy(self.small[a, b])

    def nearest(self, pool, targets, k):
        rows = np.flatnonzero(pool)
        near = self.block(rows, targets).numpy().min(axis=1)
        return rows[np.argsort(near, kind="stable")[:k]].tolist()


_PLANS = [([0], 8, {}, "plan_progressive"), ([0, -2], 12, {"overlap": 3, "fill": False}, "plan_progressive"),
          ([3], 10, {"anchors": 3}, "plan_anchored")]


@pytest.mark.parametrize("kind", ["static", "four", "runs"])
def test_plans_of_repeated_poses_are_the_brute_force_plans(kind):
    """Progressive (filled and not) and anchored plans of 3,000 frames repeating poses, one and two inputs: the
    windows planned from every pool frame's distance, sorted, for each window."""
    n = 3000
    c2w, K = _repeated(kind, n)
    full = _BruteForce(kind, n)
    for inputs, window, kwargs, kind_of_plan in _PLANS:
        inputs = [i % n for i in inputs]
        want = getattr(planners, kind_of_plan)(full, inputs, window, **kwargs)
        got = getattr(planners, kind_of_plan)(CameraDistances(c2w, K), inputs, window, **kwargs)
        assert got == want, (kind, kind_of_plan, inputs, kwargs)


@pytest.mark.parametrize("kind", ["static", "four", "runs"])
def test_plans_of_repeated_poses_are_the_reference_plans(kind):
    """The same plans of 400 frames: the reference planner's (before the k-d tree) windows."""
    reference, n = load_script("benchmarks/long_path_plan_reference.py"), 400
    c2w, K = _repeated(kind, n)
    for inputs, window, kwargs, kind_of_plan in _PLANS:
        inputs = [i % n for i in inputs]
        want = getattr(reference, kind_of_plan)(CameraDistances(c2w, K), inputs, window, **kwargs)
        got = getattr(planners, kind_of_plan)(CameraDistances(c2w, K), inputs, window, **kwargs)
        assert got == want, (kind, kind_of_plan, inputs, kwargs)


def test_nearest_among_repeated_poses_equals_a_sort_of_all_distances():
    """``nearest`` on pools of 600 frames of few poses (ties everywhere) against a stable sort of every pool
    frame's distance to the targets, ``k`` below and above a pose's frame count in the pool."""
    g = np.random.default_rng(7)
    for kind in ("static", "four", "runs"):
        c2w, K = _repeated(kind, 600)
        dist, full = CameraDistances(c2w, K), camera_distance(c2w, K)
        for _ in range(12):
            pool = g.random(600) < g.uniform(0.05, 0.9)
            targets = g.choice(np.flatnonzero(~pool), size=int(g.integers(1, 7)), replace=False)
            k = int(g.integers(1, 40))
            rows = np.flatnonzero(pool)
            near = full[torch.as_tensor(rows)][:, torch.as_tensor(targets)].min(dim=1).values
            want = rows[torch.sort(near, stable=True).indices.numpy()[:k]].tolist()
            assert dist.nearest(pool, targets, k) == want, kind


@pytest.mark.parametrize("kind", ["static", "four"])
def test_a_plan_of_repeated_poses_computes_distances_for_the_path_times_the_window(monkeypatch, kind):
    """Before, a static path of 2,000 frames computed some 2 million distances to plan (every generated frame tied
    at 0 with each window's frames); now about as many as an orbit's: a few dozen a frame."""
    n = 2000
    counted = []
    values = CameraDistances._values

    def counting(self, a, b):
        counted.append(torch.broadcast_shapes(a.shape, b.shape).numel())
        return values(self, a, b)

    monkeypatch.setattr(CameraDistances, "_values", counting)
    c2w, K = _repeated(kind, n)
    plan = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=8), 8, 12))
    assert plan.num_frames == n
    assert sum(counted) <= 40 * n * 8, sum(counted)
