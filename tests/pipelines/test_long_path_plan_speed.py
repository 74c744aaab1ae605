"""The 3D plans' speed-up (2026-12-05): the nearest frames made so far found through a k-d tree of the cameras
(``CameraDistances.nearest``) and a linear plan check give the same plans as the planners before it
(``benchmarks/long_path_plan_reference.py``), with distances computed for the path times the window, not its square."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.cameras import dolly, handheld_jitter, orbit, spiral, static
from genxd.pipelines import long_path_plans as planners
from genxd.pipelines.long_path_distance import CameraDistances, camera_distance
from genxd.pipelines.long_paths import LongPathSettings, make_plan, resolve_settings

from ..helpers import load_script


def _paths(n: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(n)
    c2w, K = orbit(num_frames=n)
    rand = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    rand[:, :3, 3] = torch.randn(n, 3, generator=g, dtype=torch.float64)
    rand[:, :3, :3] = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))[0]
    again = torch.arange(n) // 3  # each camera three times: exact ties
    zoomed = K.clone()
    zoomed[:, 0, 0] *= torch.linspace(0.5, 2.0, n, dtype=zoomed.dtype)
    return {"orbit": (c2w, K), "spiral": spiral(num_frames=n, num_rotations=3.0), "dolly": dolly(num_frames=n),
            "repeated": (c2w[again], K[again]), "jitter": (handheld_jitter(c2w, seed=n), zoomed),
            "static": static(num_frames=n), "random": (rand, K)}


def test_plans_are_those_of_the_planners_before_the_speed_up():
    """Progressive (filled and not) and anchored plans on orbits, spirals, dollies, repeated, static, zooming
    hand-held and random cameras, one to three inputs: the same windows as the reference planners', from the
    distances on demand (the k-d tree past a few hundred distances) and from the full matrix."""
    reference, n = load_script("benchmarks/long_path_plan_reference.py"), 180
    for name, (c2w, K) in _paths(n).items():
        full = camera_distance(c2w, K)
        for inputs, window, overlap in [([0], 8, 2), ([0, n // 2], 12, 3), ([5, 1, n - 1], 10, 2)]:
            for kind, kwargs in [("plan_progressive", {"overlap": overlap}),
                                 ("plan_progressive", {"overlap": overlap, "fill": False}),
                                 ("plan_anchored", {"overlap": overlap}),
                                 ("plan_anchored", {"anchors": 3, "overlap": overlap})]:
                want = getattr(reference, kind)(CameraDistances(c2w, K), inputs, window, **kwargs)
                assert getattr(planners, kind)(CameraDistances(c2w, K), inputs, window, **kwargs) == want, \
                    (name, kind, inputs, window, kwargs)
                assert getattr(planners, kind)(full, inputs, window, **kwargs) == want, (name, kind, inputs, kwargs)


def test_nearest_frames_equal_a_sort_of_all_distances():
    """``CameraDistances.nearest`` against a stable sort of every pool frame's distance to the targets, on pools
    large enough for the k-d tree, with exact ties (repeated and static cameras)."""
    g = np.random.default_rng(3)
    for name, (c2w, K) in _paths(240).items():
        dist, full = CameraDistances(c2w, K), camera_distance(c2w, K)
        for _ in range(8):
            pool = g.random(240) < g.uniform(0.3, 0.9)
            targets = g.choice(np.flatnonzero(~pool), size=int(g.integers(1, 7)), replace=False)
            k = int(g.integers(1, 12))
            rows = np.flatnonzero(pool)
            near = full[torch.as_tensor(rows)][:, torch.as_tensor(targets)].min(dim=1).values
            want = rows[torch.sort(near, stable=True).indices.numpy()[:k]].tolist()
            assert dist.nearest(pool, targets, k) == want, name


@pytest.mark.parametrize("anchors", [None, 7])
def test_a_3d_plan_computes_distances_for_the_path_times_the_window(monkeypatch, anchors):
    """The progressive plan computed every generated frame's distance to each window's new frames (2,048 frames:
    2.1 million distances; 24-31 s at 4,096 frames on a busy 2-core machine) and the plan's check looked each
    window up among all windows; now the distances of the frames near each window only, and a check in one pass."""
    n, window = 2048, 8
    counted = []
    values = CameraDistances._values

    def counting(self, a, b):
        out = values(self, a, b)
        counted.append(out.numel())
        return out

    compared = []
    monkeypatch.setattr(CameraDistances, "_values", counting)
    monkeypatch.setattr(planners.Window, "__eq__", lambda self, other: compared.append(1) or self is other)
    c2w, K = orbit(num_frames=n)
    plan = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=window, anchors=anchors), 8, 12))
    assert plan.num_frames == n and len(plan.windows) > n // window
    assert sum(counted) <= 40 * n * window, sum(counted)  # before: 2.1 million (progressive)
    assert len(compared) <= len(plan.windows), len(compared)  # before: 417,180 windows compared


@pytest.mark.parametrize("depth", [1e-153, 1e-160])
def test_cameras_past_the_trees_range_are_planned_as_the_reference_plans_them(depth):
    """Centres / depth past about 1e154: the tree's squared distances overflowed, cKDTree answered frame N (no
    neighbour) and the plan failed with IndexError where the reference planner plans (the reviewer's path: 200
    cameras 1e3 apart, depth 1e-153). No tree is built past 1e150: the exact way, the reference's plan."""
    reference = load_script("benchmarks/long_path_plan_reference.py")
    c2w = torch.eye(4, dtype=torch.float64).repeat(200, 1, 1)
    c2w[:, 0, 3] = torch.arange(200, dtype=torch.float64) * 1e3
    for kind in ("plan_progressive", "plan_anchored"):
        want = getattr(reference, kind)(CameraDistances(c2w, depth=depth), [0], 8)
        assert getattr(planners, kind)(CameraDistances(c2w, depth=depth), [0], 8) == want, kind


def test_nearest_leaves_out_frames_the_tree_finds_no_neighbour_for(monkeypatch):
    """A tree answering N (cKDTree's 'no neighbour' where a distance is not finite) is not taken for a frame."""
    c2w, K = orbit(num_frames=400)
    dist = CameraDistances(c2w, K)
    tree, points, scale = dist._tree()

    class NoNeighbours:  # the tree as cKDTree answers for points whose distances overflow: every neighbour N
        def query(self, x, k):
            return np.full((len(x), k), np.inf), np.full((len(x), k), len(points))

        def query_ball_point(self, x, r):
            return tree.query_ball_point(x, r)

    dist._tree_state = (NoNeighbours(), points, scale)
    pool = np.arange(400) < 300  # 300 frames x 2 targets: past the direct way's 512 distances
    near = camera_distance(c2w, K)[:300][:, [310, 311]].min(dim=1).values
    assert dist.nearest(pool, [310, 311], 6) == torch.sort(near, stable=True).indices[:6].tolist()


@pytest.mark.parametrize("offset", [1e6, 1e7])
def test_a_path_far_from_the_origin_computes_distances_for_the_path_times_the_window(monkeypatch, offset):
    """The tree's ball took a rounding margin of 1e-9 of the largest coordinate: a dolly of 300 frames a few µm
    apart around 1e6-1e7 had every frame in every ball (some 45,000 distances: quadratic again); the margin is now
    of float64's rounding of the coordinates (1e-13 of them): the reference's plans, from some 26 distances a frame."""
    reference = load_script("benchmarks/long_path_plan_reference.py")
    c2w, K = dolly(num_frames=300)
    c2w = c2w.double()
    c2w[:, :3, 3] = c2w[:, :3, 3] * 1e-3 + offset
    counted = []
    values = CameraDistances._values

    def counting(self, a, b):
        counted.append(torch.broadcast_shapes(a.shape, b.shape).numel())
        return values(self, a, b)

    for fill in (True, False):
        want = reference.plan_progressive(CameraDistances(c2w, K), [0], 8, fill=fill)
        counted.clear()
        with monkeypatch.context() as patch:
            patch.setattr(CameraDistances, "_values", counting)
            plan = planners.plan_progressive(CameraDistances(c2w, K), [0], 8, fill=fill)
        assert sum(counted) <= 40 * 300, (fill, sum(counted))  # before: 45,000
        assert plan == want, fill
