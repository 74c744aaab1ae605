"""DTU scans as researchers have them: IDR's / NeuS's layout (``image/``, ``mask/``, ``cameras.npz``) and DTU's own
(``Rectified/scanN`` + ``Calibration/cal18/pos_NNN.txt``), read by ``genxd reconstruct`` and ``genxd fewshot-data``
with their known cameras, in DTU's view order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.reconfusion import load_reconfusion
from genxd.reconstruction.views import detect_input_kind, load_views

from .dtu_scans import known_cameras, normalised, write_dtu_scan, write_idr_scan

runner = CliRunner()
#: RegNeRF's DTU split (genxd.data.reconfusion_convert)
TRAIN = [25, 22, 28, 40, 44, 48, 0, 8, 13]
TEST = [1, 2, 9, 10, 11, 12, 14, 15, 23, 24, 26, 27, 29, 30, 31, 32, 33, 34, 35, 41, 42, 43, 45, 46, 47]
#: pixel intrinsics of the 16x12 IDR images, and of DTU's 1600x1200 images (a little skew, as DTU's have)
K_IDR = np.array([[19.5, 0.0, 8.3], [0.0, 18.7, 5.9], [0.0, 0.0, 1.0]])
K_DTU = np.array([[2892.3, 0.6, 823.2], [0.0, 2883.2, 619.1], [0.0, 0.0, 1.0]])
#: IDR's normalisation: world = scale * normalised + centre
SCALE_MAT = np.array([[250.0, 0, 0, 10.0], [0, 250.0, 0, -20.0], [0, 0, 250.0, 600.0], [0, 0, 0, 1]])


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result, said: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(f"genxd: error: {said}"), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize("scale_mat", [SCALE_MAT, None], ids=["scale_mat", "world-units"])
def test_an_idr_scan_is_read_with_its_cameras_in_view_order(tmp_path, scale_mat) -> None:
    c2w = known_cameras(radius=3.0)
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, c2w, scale_mat)
    assert detect_input_kind(scan) == "idr"
    views = load_views(scan)
    assert views.names == [f"image/{i:06d}.png" for i in range(49)]
    assert (views.height, views.width) == (12, 16)
    torch.testing.assert_close(views.c2w.double(), torch.from_numpy(c2w), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(views.K.double(), normalised(K_IDR, 12, 16).expand(49, 3, 3), atol=1e-6, rtol=1e-6)
    assert torch.linalg.det(views.c2w[:, :3, :3].double()).sub(1).abs().max() < 1e-5


def test_a_dtu_scan_is_read_with_its_cameras_in_view_order(tmp_path) -> None:
    c2w = known_cameras(radius=600.0)  # DTU's world units: millimetres
    scan = write_dtu_scan(tmp_path / "DTU", "scan40", K_DTU, c2w, lights=(0, 3, 6))
    assert detect_input_kind(scan) == "dtu"
    views = load_views(scan)
    assert views.names == [f"rect_{i:03d}_3_r5000.png" for i in range(1, 50)]  # light 3 only
    torch.testing.assert_close(views.c2w.double(), torch.from_numpy(c2w), atol=1e-3, rtol=1e-5)
    # K in DTU's 1600x1200 pixels, normalised: the same for these 16x12 images (DTU's downsized by 100)
    torch.testing.assert_close(views.K.double(), normalised(K_DTU, 1200, 1600).expand(49, 3, 3), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("layout", ["idr", "dtu"])
def test_fewshot_data_regnerf_dtu_split_of_a_dtu_scan(tmp_path, layout: str) -> None:
    c2w = known_cameras(radius=3.0)
    if layout == "idr":
        scan, K, first = write_idr_scan(tmp_path / "scan40", K_IDR, c2w, SCALE_MAT), normalised(K_IDR, 12, 16), "image/"
    else:
        scan, K, first = write_dtu_scan(tmp_path / "DTU", "scan40", K_DTU, c2w), normalised(K_DTU, 1200, 1600), "rect_"
    result = _cli("fewshot-data", scan, "-o", tmp_path / "rf", "--split", "regnerf-dtu")
    assert result.exit_code == 0, result.output
    scene = load_reconfusion(tmp_path / "rf")["scan40"]
    assert scene.splits == {3: (TRAIN[:3], TEST), 6: (TRAIN[:6], TEST), 9: (TRAIN, TEST)}
    names = scene.extras["image_names"]
    assert names[25].startswith(first) and ("000025" in names[25] or "rect_026" in names[25])
    torch.testing.assert_close(scene.c2w.double(), torch.from_numpy(c2w), atol=1e-5, rtol=1e-5)
    K = K.clone()
    K[0, 1] = 0.0  # ReconFusion's camera rows (fx, fy, cx, cy, w2c) have no skew
    torch.testing.assert_close(scene.K.double(), K.expand(49, 3, 3), atol=1e-6, rtol=1e-6)


def test_reconstruct_finds_an_idr_scans_masks_by_view_number(tmp_path) -> None:
    """IDR's masks are ``mask/000.png ...`` by view number, its images ``image/000000.png``: held-out view 8's mask
    is ``mask/008.png`` (looked up by the image's name, ``000008.png``, it was not found)."""
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, known_cameras(radius=3.0), SCALE_MAT)
    result = _cli("reconstruct", scan, "--out", tmp_path / "recon", "--holdout-every", 8, "--masks", scan,
                  "--iterations", 2, "--resolution", 16, "--init", "random", "--init-points", 100,
                  "--video-frames", 0, "--quiet")
    assert result.exit_code == 0, result.output
    masked = json.loads((tmp_path / "recon" / "reconstruction.json").read_text())["test_metrics"]["masked"]
    assert masked["masks"].endswith("scan40/mask")
    assert [row["name"] for row in masked["per_view"]] == [f"image/{i:06d}.png" for i in range(0, 49, 8)]


def _idr_without(tmp_path, what: str):
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, known_cameras(radius=3.0), SCALE_MAT, masks=False)
    if what == "cameras":
        (scan / "cameras.npz").unlink()
        return scan, f"{scan}: an IDR-layout scan (image/) without cameras.npz or cameras_sphere.npz"
    with np.load(scan / "cameras.npz") as z:
        arrays = {k: z[k] for k in z.files}
    if what == "world_mat":
        del arrays["world_mat_7"]
        said = f"{scan / 'cameras.npz'}: no world_mat_7 for image image/000007.png (view 7 in name order"
    elif what == "singular":
        arrays["world_mat_3"] = np.zeros((4, 4))
        said = f"{scan / 'cameras.npz'}: world_mat_3: the projection matrix's left 3x3 block is singular"
    else:
        arrays["world_mat_3"] = np.eye(5)
        said = f"{scan / 'cameras.npz'}: world_mat_3: expected 4x4 or 3x4, got shape [5, 5]"
    np.savez(scan / "cameras.npz", **arrays)
    return scan, said


@pytest.mark.parametrize("what", ["cameras", "world_mat", "singular", "shape"])
def test_an_idr_scan_without_its_cameras_is_a_one_line_error(tmp_path, what: str) -> None:
    scan, said = _idr_without(tmp_path, what)
    _one_line_error(_cli("fewshot-data", scan, "-o", tmp_path / "rf"), said)
    assert not (tmp_path / "rf").exists()


@pytest.mark.parametrize("what", ["pos", "calibration", "cropped", "light", "gap"])
def test_a_dtu_scan_without_its_calibration_is_a_one_line_error(tmp_path, what: str) -> None:
    root = tmp_path / "DTU"
    calibration = Path(os.path.abspath(root)) / "Calibration" / "cal18"  # looked for first: as given, not resolved
    c2w = known_cameras(radius=600.0)
    if what == "cropped":  # MVSNet's 640x512 crops: not DTU's calibration's images
        scan = write_dtu_scan(root, "scan40_train", K_DTU, c2w, height=16, width=20)
        said = f"{scan}: the images are 20x16, but DTU's calibration is for 1600x1200 images"
    elif what == "light":
        scan = write_dtu_scan(root, "scan40", K_DTU, c2w, lights=(0,))
        said = f"{scan}: no rect_NNN_3_r5000.png images"
    else:
        scan = write_dtu_scan(root, "scan40", K_DTU, c2w)
        if what == "gap":  # view 9 would be rect_011, and read mask 009.png
            (scan / "rect_010_3_r5000.png").unlink()
            said = f"{scan}: no rect_010_3_r5000.png, but later views"
        elif what == "pos":
            (root / "Calibration" / "cal18" / "pos_010.txt").unlink()
            said = f"{calibration / 'pos_010.txt'}: no such calibration file"
        else:
            (root / "Calibration" / "cal18").rename(root / "Calibration" / "cal17")
            said = f"{scan}: DTU's rectified images without {calibration}"
    _one_line_error(_cli("fewshot-data", scan, "-o", tmp_path / "rf"), said)
    assert not (tmp_path / "rf").exists()


def test_regnerf_dtu_split_needs_the_49_views_only_there(tmp_path) -> None:
    """A scan of 48 views is read (reconstruct, the default split); RegNeRF's DTU split says it needs 49."""
    c2w = known_cameras(radius=3.0)[:48]
    scan = write_idr_scan(tmp_path / "scan40", K_IDR, c2w, SCALE_MAT, masks=False)
    assert len(load_views(scan)) == 48
    _one_line_error(_cli("fewshot-data", scan, "-o", tmp_path / "rf", "--split", "regnerf-dtu"),
                    f"{scan}: RegNeRF's DTU split needs the 49 views of a DTU scan")
