"""DTU scans as they are found on disk (tests/reconstruction/dtu_scans.py writes them): a camera file saved by the
wrong numpy call, the hidden files a macOS copy leaves, and a scan folder that is a link to another disk."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.views import load_views

from .dtu_scans import known_cameras, write_dtu_scan, write_idr_scan

K_IDR = np.array([[19.5, 0.0, 8.3], [0.0, 18.7, 5.9], [0.0, 0.0, 1.0]])
K_DTU = np.array([[2892.3, 0.6, 823.2], [0.0, 2883.2, 619.1], [0.0, 0.0, 1.0]])


def test_an_idr_cameras_npz_that_is_one_npy_array_is_a_one_line_error_naming_it(tmp_path) -> None:
    """``np.save`` under the name cameras.npz: ``TypeError: 'numpy.ndarray' object does not support the context
    manager protocol``, no file named (a traceback at the command line)."""
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, known_cameras(radius=3.0)[:3], None, masks=False)
    with open(scan / "cameras.npz", "wb") as f:
        np.save(f, np.eye(4))
    with pytest.raises(ValueError, match=f"^{scan / 'cameras.npz'}: not an .npz archive"):
        load_views(scan)
    result = CliRunner().invoke(app, ["fewshot-data", str(scan), "-o", str(tmp_path / "rf")])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"genxd: error: {scan / 'cameras.npz'}: not an .npz archive (one array, as " \
                                    "np.save writes): expected np.savez's world_mat_i", result.output


def test_hidden_files_in_an_idr_scans_image_folder_are_no_views(tmp_path) -> None:
    """A macOS copy's ``image/._000000.png`` was view 0: every image was one view later (the last one's world_mat
    missing, or, with one to spare, each image read with the next view's camera and mask)."""
    c2w = known_cameras(radius=3.0)[:3]
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, c2w, None)
    expected = load_views(scan)
    (scan / "image" / "._000000.png").write_bytes(b"\x00\x05\x16\x07" + bytes(100))  # AppleDouble, not a PNG
    (scan / "mask" / "._000.png").write_bytes(b"\x00\x05\x16\x07" + bytes(100))
    views = load_views(scan)
    assert views.names == ["image/000000.png", "image/000001.png", "image/000002.png"]
    torch.testing.assert_close(views.c2w, expected.c2w)
    torch.testing.assert_close(views.images, expected.images)


def test_a_dtu_scan_folder_linked_into_rectified_finds_the_calibration_beside_the_link(tmp_path) -> None:
    """``DTU/Rectified/scan24`` a link to the images on another disk: Calibration/ was looked for only beside the
    link's target (``bigdisk/Calibration``), and the scan refused."""
    c2w = known_cameras(radius=600.0)[:3]
    images = write_dtu_scan(tmp_path / "bigdisk", "scan24", K_DTU, c2w, height=12, width=16)
    root = tmp_path / "DTU"
    (root / "Rectified").mkdir(parents=True)
    (tmp_path / "bigdisk" / "Calibration").rename(root / "Calibration")
    os.symlink(images, root / "Rectified" / "scan24")
    views = load_views(root / "Rectified" / "scan24")
    torch.testing.assert_close(views.c2w.double(), torch.from_numpy(c2w), atol=1e-3, rtol=1e-5)


def test_dtu_calibration_files_saved_by_a_windows_editor_are_read(tmp_path) -> None:
    """``pos_NNN.txt`` re-saved by a Windows editor: a UTF-8 byte order mark and CRLF line ends. numpy read the mark
    as part of the first number ("could not convert string '\\ufeff...' to float64") and the scan was refused; the
    cameras are now those of the plain files."""
    c2w = known_cameras(radius=600.0)[:3]
    images = write_dtu_scan(tmp_path / "DTU", "scan24", K_DTU, c2w, height=12, width=16)
    plain = load_views(images)
    for file in sorted((tmp_path / "DTU" / "Calibration" / "cal18").glob("pos_*.txt")):
        file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes().replace(b"\n", b"\r\n"))
    views = load_views(images)
    torch.testing.assert_close(views.c2w, plain.c2w, atol=0, rtol=0)
    torch.testing.assert_close(views.K, plain.K, atol=0, rtol=0)
