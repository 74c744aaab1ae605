"""A damaged or foreign file where reconstruct reads NumPy arrays (a ``.npy`` depth map, ``ground_truth.npz``, an IDR
scan's ``cameras.npz``, a scene's ``motion.npz``) is named as no NumPy file. ``np.load`` took it for a pickle and the
error said "This file contains pickled (object) data. If you trust the file you can load it unsafely using the
`allow_pickle=` keyword argument": advice to unpickle a file that is not even a pickle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.reconstruction.ply import load_scene, save_ply
from genxd.reconstruction.views import load_views

from .helpers import write_views_folder

NOT_NUMPY = b"<html><body>404 Not Found</body></html>\n"  # a page saved under the file's name


def _refused(call, file) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert str(file) in message and "not a NumPy .npy or .npz file" in message, message
    assert "allow_pickle" not in message and "trust" not in message, message


def _folder(tmp_path, **kwargs):
    from genxd.data.synthetic import orbit_cameras

    c2w, K = orbit_cameras(3, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    images = torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    return write_views_folder(tmp_path / "scene", images, c2w, K, **kwargs)


def test_a_depth_map_that_is_no_npy_file(tmp_path) -> None:
    folder = _folder(tmp_path, depths=torch.ones(3, 12, 12))
    (folder / "depth" / "frame_0001.npy").write_bytes(NOT_NUMPY)
    _refused(lambda: load_views(folder), folder / "depth" / "frame_0001.npy")


def test_a_ground_truth_npz_that_is_no_archive(tmp_path) -> None:
    folder = _folder(tmp_path)
    (folder / "ground_truth.npz").write_bytes(NOT_NUMPY)
    _refused(lambda: load_views(folder), folder / "ground_truth.npz")


def test_an_idr_scans_cameras_npz_that_is_no_archive(tmp_path) -> None:
    from .dtu_scans import known_cameras, write_idr_scan

    K = np.array([[20.0, 0, 8], [0, 20.0, 6], [0, 0, 1]])
    scan = write_idr_scan(tmp_path / "scan1", K, known_cameras(3.0), None)
    (scan / "cameras.npz").write_bytes(NOT_NUMPY)
    _refused(lambda: load_views(scan), scan / "cameras.npz")


def test_a_motion_npz_that_is_no_archive(tmp_path) -> None:
    from genxd.reconstruction.gaussians import GaussianModel

    model = GaussianModel.from_points(torch.rand(20, 3), torch.rand(20, 3))
    save_ply(tmp_path / "scene.ply", model)
    (tmp_path / "motion.npz").write_bytes(NOT_NUMPY)
    _refused(lambda: load_scene(tmp_path), tmp_path / "motion.npz")


def test_numpy_files_are_still_read(tmp_path) -> None:
    folder = _folder(tmp_path, depths=torch.full((3, 12, 12), 2.0))
    assert torch.equal(load_views(folder).depths, torch.full((3, 12, 12), 2.0))
