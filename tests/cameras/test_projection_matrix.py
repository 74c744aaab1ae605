"""A 3x4 projection matrix as genxd's camera: positive focal lengths, K[2, 2] = 1, R a rotation, at any scale of P."""

from __future__ import annotations

import numpy as np
import pytest

from genxd.cameras.projection_matrix import decompose_projection


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.mark.parametrize("factor", [1.0, -1.0, 3.5e-4, -250.0])
def test_a_projection_at_any_scale_gives_back_its_camera(factor: float) -> None:
    rng = np.random.default_rng(7)
    K = np.array([[2892.3, 0.8, 823.2], [0.0, 2883.2, 619.1], [0.0, 0.0, 1.0]])
    for _ in range(20):
        c2w = np.eye(4)
        c2w[:3, :3], c2w[:3, 3] = _rotation(rng), rng.normal(scale=400.0, size=3)
        P = factor * K @ np.linalg.inv(c2w)[:3]
        K_read, c2w_read = decompose_projection(P)
        np.testing.assert_allclose(K_read, K, rtol=1e-9, atol=1e-7)
        np.testing.assert_allclose(c2w_read, c2w, rtol=1e-9, atol=1e-7)
        assert np.linalg.det(c2w_read[:3, :3]) == pytest.approx(1.0)


@pytest.mark.parametrize("P, message", [
    (np.zeros((3, 4)), "singular"),
    (np.ones((3, 4)), "singular"),
    (np.eye(3), "expected a 3x4 projection matrix, got shape \\[3, 3\\]"),
    (np.full((3, 4), np.nan), "NaN or infinite"),
])
def test_a_matrix_that_is_no_camera_is_named(P, message: str) -> None:
    with pytest.raises(ValueError, match=f"^pos_001.txt: .*{message}"):
        decompose_projection(P, "pos_001.txt")


def test_the_camera_is_the_one_idrs_and_regnerfs_loaders_decompose() -> None:
    """IDR's ``load_K_Rt_from_P`` and RegNeRF's DTU loader: ``cv2.decomposeProjectionMatrix``, ``K / K[2, 2]``,
    c2w ``[R^T | t[:3] / t[3]]``."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    K = np.array([[2892.3, 0.8, 823.2], [0.0, 2883.2, 619.1], [0.0, 0.0, 1.0]])
    c2w = np.eye(4)
    c2w[:3, :3], c2w[:3, 3] = _rotation(rng), rng.normal(scale=400.0, size=3)
    P = 0.01 * K @ np.linalg.inv(c2w)[:3]
    K_cv, R_cv, t_cv = cv2.decomposeProjectionMatrix(P)[:3]
    K_read, c2w_read = decompose_projection(P)
    np.testing.assert_allclose(K_read, K_cv / K_cv[2, 2], rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(c2w_read[:3, :3], R_cv.T, atol=1e-9)
    np.testing.assert_allclose(c2w_read[:3, 3], t_cv[:3, 0] / t_cv[3, 0], rtol=1e-9, atol=1e-7)
