"""The sparse depth interpolation runs its tiny LAPACK calls on one BLAS thread, with the same result.

``scipy``'s triangulation computes one barycentric transform per triangle (a LAPACK call on a 2 x 2 matrix); with
OpenBLAS's default thread pool each call paid a thread hand-off: 49 ms of CPU per 128-px frame of 600 points against
6 ms on one thread, and curating three test clips took 12-19 s of CPU against 4 s (docs/benchmarks/curation.md, "Sparse depth
on one BLAS thread").
"""

from __future__ import annotations

import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

import genxd.curation.depth as depth  # noqa: E402


def _blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


def _samples(count: int = 300, size: int = 128, seed: int = 0):
    """Scattered samples (hundreds of triangles, as SfM points give) of a plane in inverse depth."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(8.0, size - 8.0, (count, 2))
    inv = 0.2 + 0.003 * xy[:, 0] + 0.001 * xy[:, 1]
    return xy, 1.0 / inv


def test_interpolation_is_exact_for_a_plane_in_inverse_depth_and_nearest_outside():
    xy, z = _samples()
    dense = depth.interpolate_sparse_depth(xy, z, 128, 128)
    ys, xs = np.mgrid[0:128, 0:128] + 0.5
    from scipy.spatial import Delaunay

    inside = Delaunay(xy).find_simplex(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(128, 128) >= 0
    assert 0.5 < inside.mean() < 0.9  # both kinds of pixel are checked
    plane = 1.0 / (0.2 + 0.003 * xs + 0.001 * ys)
    # float32 output: 1e-5 relative is 100 float32 ulps (measured error 6e-8)
    np.testing.assert_allclose(dense[inside], plane[inside], rtol=1e-5)
    outside = np.argwhere(~inside)
    nearest = np.argmin(((outside[:, None, ::-1] + 0.5 - xy[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(dense[~inside], z[nearest], rtol=1e-6)


def test_the_triangulation_runs_on_one_blas_thread_and_the_callers_threads_are_put_back(monkeypatch):
    seen: list[list[int]] = []
    real = depth.__dict__.get("LinearNDInterpolator")
    from scipy import interpolate

    class Spy(interpolate.LinearNDInterpolator):
        def __init__(self, *args, **kwargs):
            seen.append(_blas_threads())
            super().__init__(*args, **kwargs)

        def __call__(self, *args, **kwargs):
            seen.append(_blas_threads())
            return super().__call__(*args, **kwargs)

    assert real is None  # imported inside the function (scipy.interpolate is slow to import)
    monkeypatch.setattr(interpolate, "LinearNDInterpolator", Spy)
    xy, z = _samples()
    reference = depth.interpolate_sparse_depth(xy, z, 64, 64)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        caller = _blas_threads()
        assert caller and max(caller) == 2, caller  # a pool of 2 to come back to
        dense = depth.interpolate_sparse_depth(xy, z, 64, 64)
        assert _blas_threads() == caller
    assert len(seen) == 4 and all(threads and set(threads) == {1} for threads in seen), seen
    np.testing.assert_array_equal(dense, reference)
