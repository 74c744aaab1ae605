"""Camera distances on demand (``genxd.pipelines.long_path_distance``): the same values as the full matrix,
element for element, the same plans, and memory bounded by the path times the window."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from genxd.cameras import dolly, handheld_jitter, orbit, spiral, static
from genxd.pipelines.long_path_distance import CameraDistances, camera_distance
from genxd.pipelines.long_paths import (LongPathSettings, make_plan, plan_anchored, plan_independent,
                                        plan_progressive, resolve_settings)


def _reference(c2w: torch.Tensor, K: torch.Tensor | None) -> torch.Tensor:
    """The documented sum, all pairs at once by broadcasting, coordinate by coordinate (the exact differences)."""
    c2w = c2w.double()

    def norm(x: torch.Tensor) -> torch.Tensor:
        total = None
        for k in range(x.shape[1]):
            d = x[:, None, k] - x[None, :, k]
            total = d * d if total is None else total + d * d
        return total.sqrt()

    d = norm(c2w[:, :3, 3]) + 2 * torch.arcsin((norm(c2w[:, :3, :3].flatten(1)) / (2 * math.sqrt(2))).clamp(max=1.0))
    if K is not None:
        logf = K.double()[:, 0, 0].log()
        d = d + (logf[:, None] - logf[None, :]).abs()
    return d


def _paths(n: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(n)
    c2w, K = orbit(num_frames=n)
    rand = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    rand[:, :3, 3] = torch.randn(n, 3, generator=g, dtype=torch.float64)
    rand[:, :3, :3] = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))[0]
    again = torch.arange(n) // 3  # each camera three times: exact ties
    return {"orbit": (c2w, K), "spiral": spiral(num_frames=n, num_rotations=3.0), "dolly": dolly(num_frames=n),
            "repeated": (c2w[again], K[again]), "jitter": (handheld_jitter(c2w, seed=n), K),
            "static": static(num_frames=n), "random": (rand, K)}


def test_identical_cameras_are_at_distance_zero():
    """torch.cdist's matrix product put a camera about 6e-8 from itself (and from a copy of itself), so repeated
    cameras were not ties: which one a plan took was rounding noise. Now exactly 0."""
    c2w, K = orbit(num_frames=40)
    again = torch.arange(40) // 2
    d = camera_distance(c2w[again], K[again])
    assert torch.count_nonzero(d.diagonal()) == 0
    assert torch.count_nonzero(d[0::2, 1::2].diagonal()) == 0  # frames 2k and 2k + 1: one camera
    assert torch.equal(d, d.T)


@pytest.mark.parametrize("n", [27, 64, 130])
def test_entries_on_demand_are_those_of_the_full_matrix(n):
    """Any block or list of pairs holds, bit for bit, the entries of the full matrix (and of the reference)."""
    g = torch.Generator().manual_seed(n)
    for name, (c2w, K) in _paths(n).items():
        full = camera_distance(c2w, K)
        assert torch.equal(full, _reference(c2w, K)), name
        lazy = CameraDistances(c2w, K)
        for _ in range(20):
            rows = torch.randint(0, n, (int(torch.randint(1, 40, (1,), generator=g)),), generator=g)
            cols = torch.randint(0, n, (int(torch.randint(1, 12, (1,), generator=g)),), generator=g)
            assert torch.equal(lazy.block(rows, cols), full[rows][:, cols]), name
            assert torch.equal(lazy.pairs(rows, rows.flip(0)), full[rows, rows.flip(0)]), name
        assert torch.equal(lazy.block(range(n)), full), name


@pytest.mark.parametrize("n", [40, 97])
def test_plans_from_distances_on_demand_are_those_of_the_full_matrix(n):
    """Every 3D plan (progressive, unfilled, anchored, independent; one to three inputs), on orbits, spirals,
    repeated and static cameras (exact ties) and random ones: the same windows as from the full matrix."""
    for name, (c2w, K) in _paths(n).items():
        full, lazy = _reference(c2w, K), CameraDistances(c2w, K)
        for inputs, window, overlap in [([0], 8, 2), ([0, n // 2], 12, 3), ([5, 1, n - 1], 10, 2)]:
            plans = [lambda d: plan_progressive(d, inputs, window, overlap),
                     lambda d: plan_progressive(d, inputs, window, overlap, fill=False),
                     lambda d: plan_anchored(d, inputs, window, overlap=overlap),
                     lambda d: plan_anchored(d, inputs, window, anchors=3, overlap=overlap),
                     lambda d: plan_independent(n, inputs, window, d)]
            for plan in plans:
                assert plan(lazy) == plan(full), (name, inputs, window)


class _LargestTensor(TorchDispatchMode):
    """The most elements of any tensor an operation made."""

    def __init__(self) -> None:
        super().__init__()
        self.most = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.most = max(self.most, t.numel())
        return out


@pytest.mark.parametrize("anchors", [None, 7])
def test_a_3d_plan_holds_distances_for_the_path_times_the_window(anchors):
    """make_plan held every pair's distance (N x N: 516 MiB with cdist's temporaries at 4,096 frames); now
    a few frames against the rest at a time: no tensor above the cameras' own N x 4 x 4 or N x window."""
    n, window = 1536, 8
    c2w, K = orbit(num_frames=n)
    settings = resolve_settings(LongPathSettings(window=window, anchors=anchors), 8, 12)
    with _LargestTensor() as spy:
        plan = make_plan("3d", c2w, K, [0], settings)
    assert plan.num_frames == n
    assert spy.most <= n * max(16, window), spy.most  # before: n * n


def test_shared_intrinsics_k_of_one_camera_are_those_of_every_frame():
    """``K [1, 3, 3]`` (one camera's intrinsics for the whole path) is read as every frame's: the distances (no zoom
    term) and the plan are those of ``K`` repeated (an IndexError from the first frame on before)."""
    c2w, K = orbit(num_frames=12)
    shared = K[:1].clone()
    shared[0, 0, 0] *= 1.5  # not the orbit's own: the expanded values are used, not K's
    assert torch.equal(camera_distance(c2w, shared), camera_distance(c2w, shared.expand(12, 3, 3)))
    assert torch.equal(CameraDistances(c2w, shared).pairs([3, 0], [0, 7]),
                       CameraDistances(c2w, shared.repeat(12, 1, 1)).pairs([3, 0], [0, 7]))
    s = resolve_settings(LongPathSettings(window=8), 8, 12)
    assert make_plan("3d", c2w, shared, [0], s) == make_plan("3d", c2w, shared.repeat(12, 1, 1), [0], s)


@pytest.mark.parametrize("shape", [(13, 3, 3), (2, 3, 3), (12, 4, 4), (3, 3)])
def test_intrinsics_of_other_cameras_than_the_path_are_refused(shape):
    """``K`` for another number of frames (13 for a 12-frame path: silently cut to the first 12 before) or not
    ``[N, 3, 3]``: a ValueError naming the shape expected."""
    c2w, _ = orbit(num_frames=12)
    K = torch.eye(max(shape[-2:]), dtype=torch.float64).expand(*shape).clone()
    for call in (lambda: camera_distance(c2w, K), lambda: CameraDistances(c2w, K),
                 lambda: make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=8), 8, 12))):
        with pytest.raises(ValueError, match=r"K must be \[12, 3, 3\] or \[1, 3, 3\] for 12 cameras, got"):
            call()


@pytest.mark.parametrize("dtype, grad", [(torch.float32, True), (torch.bfloat16, False)])
def test_plans_from_a_matrix_of_any_float_dtype_are_those_of_its_values(dtype, grad):
    """A given distance matrix of float32 that requires grad failed ('Can't call numpy() on Tensor that requires
    grad'), one of bfloat16 too ('unsupported ScalarType BFloat16'): the plans of its values, as float64 exactly."""
    for name, (c2w, K) in [(k, p) for k, p in _paths(40).items() if k in ("orbit", "repeated", "random")]:
        matrix = camera_distance(c2w, K).to(dtype)
        same = matrix.to(torch.float64)  # the same values
        given = matrix.clone().requires_grad_() if grad else matrix
        for plan, kwargs in [(plan_progressive, {}), (plan_progressive, {"fill": False}), (plan_anchored, {}),
                             (plan_anchored, {"anchors": 3})]:
            assert plan(given, [0, 20], 8, **kwargs) == plan(same, [0, 20], 8, **kwargs), (name, plan, kwargs)
