"""genxd.cameras.formats: exact round trips between the authors' JSON, COLMAP and transforms.json."""

from __future__ import annotations

import os
import stat

import json
import math
import re

import numpy as np
import pytest
import torch

from genxd.cameras import (
    CameraPath,
    intrinsics_from_focal,
    load_camera_json,
    load_transforms_json,
    load_w2c_list_json,
    look_at,
    orbit,
    project_points,
    read_colmap_model,
    save_camera_json,
    save_transforms_json,
    save_w2c_list_json,
    write_colmap_model,
)

H, W = 48, 64


@pytest.fixture
def cams():
    """A non-trivial path: rotated, off-centre principal point, fx != fy, translations of a few units."""
    g = torch.Generator().manual_seed(0)
    eyes = torch.randn(6, 3, generator=g) * 3
    targets = torch.randn(6, 3, generator=g) * 0.2
    c2w = look_at(eyes, targets).float()
    K = intrinsics_from_focal(1.15, 1.4, 0.47, 0.53)
    return c2w, K


def test_authors_json_layout_and_round_trip(tmp_path, cams):
    c2w, K = cams
    path = save_camera_json(tmp_path / "vid.json", c2w, K, H, W)
    obj = json.loads(path.read_text())
    assert set(obj) == {"fx", "fy", "cx", "cy", "height", "width", "cameras"}
    # Pixel intrinsics, w2c 3x4 per frame (what inference.py writes).
    assert obj["fx"] == pytest.approx(1.15 * W, rel=1e-6) and obj["cy"] == pytest.approx(0.53 * H, rel=1e-6)
    w2c = np.array(obj["cameras"])
    assert w2c.shape == (6, 3, 4)
    np.testing.assert_allclose(w2c, torch.linalg.inv(c2w.double())[:, :3].numpy(), atol=1e-6)
    cam = load_camera_json(path)
    assert (cam.height, cam.width, len(cam)) == (H, W, 6)
    assert torch.allclose(cam.c2w, c2w, atol=1e-5) and torch.allclose(cam.K, K.expand(6, 3, 3), atol=1e-6)
    # Intrinsics that differ between frames (a zoom): genxd's extension, the top level stays frame 0's.
    K_zoom = torch.stack([K] * 5 + [intrinsics_from_focal(1.3, 1.5, 0.47, 0.53)])
    obj = json.loads(save_camera_json(tmp_path / "zoom.json", c2w, K_zoom, H, W).read_text())
    assert obj["fx"] == pytest.approx(1.15 * W, rel=1e-6) and len(obj["frame_intrinsics"]) == 6
    assert obj["frame_intrinsics"][5][0] == pytest.approx(1.3 * W, rel=1e-6)
    assert torch.allclose(load_camera_json(tmp_path / "zoom.json").K, K_zoom, atol=1e-6)


def test_w2c_list_json_both_layouts(tmp_path, cams):
    c2w, _ = cams
    for fmt in ("3x4", "18"):
        path = save_w2c_list_json(tmp_path / f"poses_{fmt}.json", c2w, save_format=fmt)
        obj = json.loads(path.read_text())
        if fmt == "18":
            assert len(obj["camera"][0]) == 18 and obj["camera"][0][:6] == [0.0] * 6
        else:
            assert np.array(obj).shape == (6, 3, 4)
        assert torch.allclose(load_w2c_list_json(path), c2w, atol=1e-5)


def test_transforms_json_is_opengl_and_round_trips(tmp_path, cams):
    c2w, K = cams
    names = [f"images/{i:03d}.png" for i in range(6)]
    path = save_transforms_json(tmp_path / "transforms.json", c2w, K, H, W, names)
    obj = json.loads(path.read_text())
    assert (obj["w"], obj["h"]) == (W, H) and obj["fl_x"] == pytest.approx(1.15 * W, rel=1e-6)
    gl = torch.tensor(obj["frames"][0]["transform_matrix"])
    # OpenGL: the stored +z axis points backwards (opposite the OpenCV view direction).
    assert torch.allclose(gl[:3, 2], -c2w[0, :3, 2], atol=1e-6) and torch.allclose(gl[:3, 3], c2w[0, :3, 3])
    cam = load_transforms_json(path)
    assert cam.names == names and (cam.height, cam.width) == (H, W)
    assert torch.allclose(cam.c2w, c2w, atol=1e-5) and torch.allclose(cam.K, K.expand(6, 3, 3), atol=1e-6)
    # Per-frame intrinsics are written when they differ, and read back.
    K_var = K.expand(6, 3, 3).clone()
    K_var[:, 0, 0] = torch.linspace(1.0, 1.5, 6)
    save_transforms_json(tmp_path / "per_frame.json", c2w, K_var, H, W)
    assert "fl_x" in json.loads((tmp_path / "per_frame.json").read_text())["frames"][3]
    assert torch.allclose(load_transforms_json(tmp_path / "per_frame.json").K, K_var, atol=1e-6)


def test_transforms_json_camera_angle_x_style(tmp_path):
    from PIL import Image

    (tmp_path / "train").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "train" / "r_0.png")
    c2w_gl = torch.eye(4)
    c2w_gl[:3, 3] = torch.tensor([0.0, 0.0, 4.0])  # OpenGL camera on +z looking at the origin
    obj = {"camera_angle_x": 2 * math.atan(0.5), "frames": [{"file_path": "./train/r_0", "transform_matrix": c2w_gl.tolist()}]}
    (tmp_path / "transforms_train.json").write_text(json.dumps(obj))
    cam = load_transforms_json(tmp_path / "transforms_train.json")  # size from the image file
    assert (cam.height, cam.width) == (30, 40)
    assert cam.K[0, 0, 0] == pytest.approx(1.0) and cam.K[0, 1, 1] == pytest.approx(40 / 30)
    uv, depth = project_points(torch.zeros(1, 3), cam.c2w[0], cam.K[0])
    assert torch.allclose(uv, torch.tensor([[0.5, 0.5]])) and depth.item() == pytest.approx(4.0)
    cam2 = load_transforms_json(tmp_path / "transforms_train.json", height=60, width=80)
    assert (cam2.height, cam2.width) == (60, 80)


@pytest.mark.parametrize("suffix", [".jpeg", ".JPG", ".PNG", ".tif", ".webp"])
def test_transforms_json_size_from_an_image_of_any_listed_suffix(tmp_path, suffix):
    """A transforms.json without ``w`` / ``h`` listing ``./train/r_0`` whose file is ``r_0.jpeg``: the image readers
    (``genxd reconstruct``, ``genxd train``) find it (``LISTED_IMAGE_SUFFIXES``), but its size was looked up as .png
    and .jpg only: 'no image size (w, h) in the file and the frame's image was not found'."""
    from PIL import Image

    (tmp_path / "train").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "train" / f"r_0{suffix}",
                                    format={".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF",
                                            ".webp": "WEBP"}[suffix.lower()])
    obj = {"camera_angle_x": 2 * math.atan(0.5), "frames": [{"file_path": "./train/r_0", "transform_matrix":
                                                            torch.eye(4).tolist()}]}
    (tmp_path / "transforms.json").write_text(json.dumps(obj))
    cam = load_transforms_json(tmp_path / "transforms.json")
    assert (cam.height, cam.width) == (30, 40)


def test_colmap_round_trip_and_cross_format(tmp_path, cams):
    pycolmap = pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host
    c2w, K = cams
    names = [f"{i:04d}.jpg" for i in (5, 3, 1, 0, 2, 4)]  # not sorted: the reader sorts by name
    g = torch.Generator().manual_seed(1)
    xyz = torch.randn(20, 3, generator=g)
    rgb = torch.randint(0, 256, (20, 3), generator=g, dtype=torch.uint8)
    model_dir = write_colmap_model(tmp_path / "scene" / "0", c2w, K, H, W, names, xyz, rgb)
    assert sorted(p.name for p in model_dir.iterdir()) == ["cameras.bin", "images.bin", "points3D.bin", "project.ini"]
    model = read_colmap_model(model_dir)
    order = np.argsort(names)
    assert model.image_names == sorted(names)
    assert torch.allclose(model.c2w, c2w[order], atol=1e-5)
    assert torch.allclose(model.K, K.expand(6, 3, 3), atol=1e-6)
    assert model.heights == [H] * 6 and model.widths == [W] * 6
    assert torch.allclose(model.points_xyz, xyz, atol=1e-6) and torch.equal(model.points_rgb, rgb)
    # pycolmap itself sees a pinhole camera with pixel intrinsics and our world-to-camera poses.
    recon = pycolmap.Reconstruction(str(model_dir))
    assert recon.num_cameras() == 1 and recon.cameras[1].model.name == "PINHOLE"
    np.testing.assert_allclose(recon.cameras[1].params, [1.15 * W, 1.4 * H, 0.47 * W, 0.53 * H], rtol=1e-6)
    first = next(im for im in recon.images.values() if im.name == names[0])
    np.testing.assert_allclose(first.projection_center(), c2w[0, :3, 3].numpy(), atol=1e-5)

    # COLMAP -> authors' JSON -> transforms.json -> COLMAP: unchanged.
    path = model.to_camera_path()
    save_camera_json(tmp_path / "a.json", path.c2w, path.K, path.height, path.width)
    a = load_camera_json(tmp_path / "a.json")
    save_transforms_json(tmp_path / "t.json", a.c2w, a.K, a.height, a.width, path.names)
    t = load_transforms_json(tmp_path / "t.json")
    write_colmap_model(tmp_path / "again", t.c2w, t.K, t.height, t.width, t.names)
    again = read_colmap_model(tmp_path / "again")
    assert again.image_names == model.image_names
    assert torch.allclose(again.c2w, model.c2w, atol=1e-5) and torch.allclose(again.K, model.K, atol=1e-6)
    assert again.points_xyz.shape == (0, 3) and again.points_rgb.dtype == torch.uint8


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_a_colmap_model_folder_gets_the_umasks_permissions(tmp_path, cams, mask):
    """The model folder was made by mkdtemp and stayed 0700 whatever the umask (its files 0644): camvid data and
    `trajectory make --format colmap` outputs were unreadable by a group (found by the hostile-environment audit)."""
    pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host
    c2w, K = cams
    old = os.umask(mask)
    try:
        model_dir = write_colmap_model(tmp_path / "scene" / "0", c2w, K, H, W, [f"{i}.png" for i in range(6)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(model_dir.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((model_dir / "cameras.bin").stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["0"]  # no temporaries left


def test_colmap_per_frame_sizes_and_cameras(tmp_path, cams):
    pycolmap = pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host
    c2w, K = cams
    Ks = K.expand(6, 3, 3).clone()
    Ks[3:, 0, 0] = 0.9
    heights = [H, H, H, 2 * H, 2 * H, 2 * H]
    write_colmap_model(tmp_path / "m", c2w, Ks, heights, W, [f"{i}.png" for i in range(6)])
    model = read_colmap_model(tmp_path / "m")
    assert model.heights == heights
    assert torch.allclose(model.K, Ks, atol=1e-6)
    assert pycolmap.Reconstruction(str(tmp_path / "m")).num_cameras() == 2
    with pytest.raises(ValueError, match="different sizes"):
        model.to_camera_path()


def test_colmap_errors_and_overwrite(tmp_path, cams):
    c2w, K = cams
    names = [f"{i}.png" for i in range(6)]
    with pytest.raises(ValueError, match="unique"):
        write_colmap_model(tmp_path / "m", c2w, K, H, W, ["a.png"] * 6)
    with pytest.raises(ValueError, match="6 cameras"):
        write_colmap_model(tmp_path / "m", c2w, K, H, W, names[:5])
    bad = c2w.clone()
    bad[0, :3, :3] *= 2
    with pytest.raises(ValueError, match="orthonormal"):
        write_colmap_model(tmp_path / "m", bad, K, H, W, names)
    assert not (tmp_path / "m").exists()  # nothing half-written
    write_colmap_model(tmp_path / "m", c2w, K, H, W, names)
    with pytest.raises(FileExistsError):
        write_colmap_model(tmp_path / "m", c2w, K, H, W, names, overwrite=False)
    write_colmap_model(tmp_path / "m", c2w[:2], K, H, W, names[:2])  # overwrite=True by default
    assert len(read_colmap_model(tmp_path / "m")) == 2
    with pytest.raises(FileNotFoundError):
        read_colmap_model(tmp_path / "nothing")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_camera_path_from_trajectory_round_trips(tmp_path):
    c2w, K = orbit(num_frames=8, elevation=10)
    save_camera_json(tmp_path / "orbit.json", c2w, K, 256, 256)
    cam = load_camera_json(tmp_path / "orbit.json")
    assert isinstance(cam, CameraPath)
    assert torch.allclose(cam.c2w, c2w, atol=1e-6) and torch.allclose(cam.K, K, atol=1e-6)


@pytest.mark.parametrize("where", ["top", "frame"])
def test_read_camera_path_refuses_an_equirectangular_transforms_json(tmp_path, where):
    """nerfstudio's 360-video ``transforms.json`` (``camera_model: EQUIRECTANGULAR``) was read as a pinhole camera
    path by ``read_camera_path`` (``genxd generate --camera``, ``genxd eval-camera``), while reconstruct and training
    refuse it: now refused in one line naming the file."""
    from genxd.cameras import read_camera_path

    frame = {"file_path": "images/0.jpg", "transform_matrix": torch.eye(4).tolist()}
    obj = {"w": 64, "h": 32, "fl_x": 30.0, "fl_y": 30.0, "frames": [dict(frame), dict(frame)]}
    if where == "top":
        obj["camera_model"] = "EQUIRECTANGULAR"
    else:
        obj["frames"][1]["camera_model"] = "equirectangular"
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(obj))
    index = 0 if where == "top" else 1
    with pytest.raises(ValueError, match=rf"^{str(path)}: frames\[{index}\] has camera_model 'EQUIRECTANGULAR'"):
        read_camera_path(path)
    obj.pop("camera_model", None)
    obj["frames"][1]["camera_model"] = "PINHOLE"  # a perspective lens is still read
    path.write_text(json.dumps(obj))
    assert len(read_camera_path(path)) == 2


@pytest.mark.parametrize("how", ["camera_model", "is_fisheye", "frame"])
def test_a_fisheye_transforms_json_is_no_camera_path_for_generate(tmp_path, how):
    """A fisheye transforms.json (nerfstudio's OPENCV_FISHEYE, instant-ngp's "is_fisheye": true) was used by
    genxd generate --camera (and eval-camera) with the fisheye's focal length as a pinhole K; now refused in one
    line there (perspective_only). read_camera_path still reads its poses, marking the path (--camera-from-video
    follows them); genxd reconstruct and train (load_transforms_json, then undistortion) read it."""
    from genxd.camera_arguments import camera_path_of
    from genxd.cameras import load_transforms_json, read_camera_path

    frame = {"file_path": "images/0.jpg", "transform_matrix": torch.eye(4).tolist()}
    obj = {"w": 64, "h": 32, "fl_x": 30.0, "fl_y": 30.0, "k1": 0.1, "frames": [dict(frame), dict(frame)]}
    if how == "camera_model":
        obj["camera_model"] = "OPENCV_FISHEYE"
    elif how == "is_fisheye":
        obj["is_fisheye"] = True
    else:
        obj["frames"][1]["camera_model"] = "opencv_fisheye"
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(obj))
    index = 1 if how == "frame" else 0
    for given in (path, tmp_path):
        assert read_camera_path(given).fisheye == f"{path}: frames[{index}] is a fisheye camera"
        for camera in (given, read_camera_path(given)):  # a file or folder, or the path read from it
            with pytest.raises(ValueError, match=rf"^{str(path)}: frames\[{index}\] is a fisheye camera; a camera "
                                                 r"path takes perspective cameras: a fisheye's focal length"):
                camera_path_of(camera)
    assert load_transforms_json(path).fisheye == f"{path}: frames[{index}] is a fisheye camera"  # marked too


def test_writers_warn_when_their_format_cannot_hold_the_intrinsics_skew(tmp_path):
    """A K with skew (K[0, 1] != 0, as a decomposed DTU projection matrix gives) was written without it by every
    writer, silently: the file's cameras were not the ones given. Each writer now warns (none of these formats
    holds a skew); a K without skew writes with no warning."""
    import warnings

    from genxd.validation import GenXDWarning

    pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host
    c2w, K = orbit(num_frames=3)
    skewed = K.clone()
    skewed[..., 0, 1] = 0.01  # 0.64 pixel at 64 px
    writers = {
        "authors' camera JSON": lambda k, d: save_camera_json(d / "cameras.json", c2w, k, 64, 64),
        "transforms.json": lambda k, d: save_transforms_json(d / "transforms.json", c2w, k, 64, 64),
        "COLMAP": lambda k, d: write_colmap_model(d / "0", c2w, k, 64, 64, ["a.png", "b.png", "c.png"]),
    }
    for i, (name, write) in enumerate(writers.items()):
        with pytest.warns(GenXDWarning, match=r": the format has no skew; the intrinsics' skew K\[0, 1\] \(up to "
                                              r"0\.64 pixels\) is not written$") as seen:
            write(skewed, tmp_path / f"skewed{i}")
        assert len(seen) == 1, name
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            write(K, tmp_path / f"plain{i}")


@pytest.mark.parametrize("where", [".", "sparse/0"])
def test_the_colmap_skew_warning_names_the_model_as_given(tmp_path, monkeypatch, where):
    # was "the COLMAP model  (PINHOLE cameras)" for "." and "the COLMAP model 0" for "sparse/0": its last part only
    from genxd.validation import GenXDWarning

    pytest.importorskip("pycolmap")
    monkeypatch.chdir(tmp_path)
    c2w, K = orbit(num_frames=3)
    K[..., 0, 1] = 0.01
    with pytest.warns(GenXDWarning, match=rf"^the COLMAP model {re.escape(where)} \(PINHOLE cameras\): "):
        write_colmap_model(where, c2w, K, 64, 64, ["a.png", "b.png", "c.png"])
