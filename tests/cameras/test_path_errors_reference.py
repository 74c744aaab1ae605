"""compare_paths (CameraCtrl's RotErr / TransErr) against a plain numpy implementation of the definitions in
docs/camera_paths_from_video.md and hand-built cases (known rotation offsets, known scale)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from genxd.cameras.accuracy import compare_paths


def _c2w(R: np.ndarray, centres: np.ndarray) -> np.ndarray:
    out = np.tile(np.eye(4), (len(R), 1, 1))
    out[:, :3, :3], out[:, :3, 3] = R, centres
    return out


def _reference(gen: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """RotErr (degrees, arccos of the trace) and TransErr (one least-squares scale s >= 0), both paths relative to
    their first camera, written out directly."""
    g, t = np.linalg.inv(gen[0]) @ gen, np.linalg.inv(gt[0]) @ gt
    cos = (np.trace(g[:, :3, :3] @ t[:, :3, :3].transpose(0, 2, 1), axis1=1, axis2=2) - 1) / 2
    rot = np.degrees(np.arccos(np.clip(cos, -1, 1))).sum()
    cg, ct = g[:, :3, 3], t[:, :3, 3]
    denom = (cg * cg).sum()
    s = max(0.0, (cg * ct).sum() / denom) if denom > 0 else 0.0
    return float(rot), float(np.linalg.norm(ct - s * cg, axis=1).sum())


def _random_path(rng: np.random.Generator, n: int) -> np.ndarray:
    R = Rotation.from_rotvec(rng.normal(size=(n, 3)) * 0.3).as_matrix()
    return _c2w(R, np.cumsum(rng.normal(size=(n, 3)), 0))


def test_known_offsets_and_scale_and_a_plain_implementation():
    rng = np.random.default_rng(3)
    gt = _random_path(rng, 10)
    world = np.eye(4)
    world[:3, :3] = Rotation.from_rotvec([0.3, -1.0, 2.0]).as_matrix()
    world[:3, 3] = [5.0, -2.0, 7.0]
    gen = world @ gt
    gen[:, :3, 3] = gt[:, :3, 3] @ (3.0 * world[:3, :3]).T + world[:3, 3]  # the same path, scale 3
    offsets = np.linspace(0.0, 20.0, 10)  # each camera turned about its own z axis by a known angle
    gen[:, :3, :3] = gen[:, :3, :3] @ Rotation.from_euler("z", offsets[:, None], degrees=True).as_matrix()
    e = compare_paths(gen, gt)
    assert e.RotErr == pytest.approx(offsets.sum(), abs=1e-9)
    assert e.TransErr == pytest.approx(0.0, abs=1e-9) and e.scale == pytest.approx(1 / 3)
    gen[:, :3, 3] += rng.normal(size=(10, 3)) * 0.5
    rot, trans = _reference(gen, gt)
    e = compare_paths(gen, gt)
    assert e.RotErr == pytest.approx(rot, abs=1e-6) and e.TransErr == pytest.approx(trans, rel=1e-12)


def test_a_recovered_camera_that_does_not_move_has_the_full_translation_error():
    """A requested path that moves, recovered as a camera that only turns (a rotation-only recovery: centres all 0):
    its TransErr is sum ||T_gt|| (no scale helps), not None; None left the worst scenes out of mean_TransErr."""
    rng = np.random.default_rng(4)
    gt = _random_path(rng, 6)
    still = _c2w(gt[:, :3, :3], np.zeros((6, 3)))
    e = compare_paths(still, gt)
    rel = np.linalg.inv(gt[0]) @ gt
    expected = np.linalg.norm(rel[:, :3, 3], axis=1)
    assert e.TransErr == pytest.approx(expected.sum(), rel=1e-12) and e.scale == 0.0
    assert e.TransErr == pytest.approx(_reference(still, gt)[1], rel=1e-12)
    # the free similarity maps one point to one point: at best the requested centres' mean
    centred = np.linalg.norm(rel[:, :3, 3] - rel[:, :3, 3].mean(0), axis=1)
    assert e.TransErr_sim3 == pytest.approx(centred.sum(), rel=1e-12)
    # a requested path that does not move still has no TransErr
    assert compare_paths(gt, still).TransErr is None
