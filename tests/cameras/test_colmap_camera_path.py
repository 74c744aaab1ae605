"""COLMAP models as users bring them, read as a camera path (``read_camera_path``, ``genxd generate --camera``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras.reader import read_camera_path

pycolmap = pytest.importorskip("pycolmap")


def _model(folder: Path, names: list[str], positions: list[float], image_ids: list[int], text: bool = False) -> Path:
    """A model written by pycolmap itself (rigs.bin / frames.bin included): one SIMPLE_RADIAL camera, image
    ``names[i]`` (id ``image_ids[i]``) at ``x = positions[i]``, looking along +z."""
    folder.mkdir(parents=True)
    recon = pycolmap.Reconstruction()
    recon.add_camera_with_trivial_rig(pycolmap.Camera(camera_id=3, model="SIMPLE_RADIAL", width=64, height=48,
                                                      params=[50.0, 32.0, 24.0, 0.02]))
    for name, x, image_id in zip(names, positions, image_ids):
        w2c = np.eye(4)[:3].copy()
        w2c[0, 3] = -x
        recon.add_image_with_trivial_frame(pycolmap.Image(name=name, camera_id=3, image_id=image_id),
                                           pycolmap.Rigid3d(w2c))
    (recon.write_text if text else recon.write_binary)(str(folder))
    return folder


@pytest.mark.parametrize("text", [False, True])
def test_images_numbered_without_zeros_are_in_frame_order(tmp_path, text):
    """frame_2 ... frame_12 (ffmpeg's ``frame_%d.jpg``, ids in another order) read frame_1, frame_10, frame_11,
    frame_12, frame_2, ...: the path jumped back and forth along the video. Now numbers in names compare as numbers,
    as genxd curate orders a folder of frames (``genxd.utils.natural_order.natural_key``)."""
    frames = list(range(1, 13))
    ids = [7 * i % 13 + 20 for i in frames]  # not contiguous, not in frame order
    folder = _model(tmp_path / "sparse" / "0", [f"frame_{i}.jpg" for i in frames], [float(i) for i in frames], ids,
                    text)
    cam = read_camera_path(tmp_path)
    assert cam.names == [f"frame_{i}.jpg" for i in frames]
    assert cam.c2w[:, 0, 3].tolist() == [float(i) for i in frames]
    assert read_camera_path(folder / ("images.txt" if text else "images.bin")).names == cam.names
    assert torch.allclose(cam.K[0], torch.tensor([[50 / 64, 0, 0.5], [0, 50 / 48, 0.5], [0, 0, 1]]))


def test_each_image_keeps_its_own_camera_when_reordered(tmp_path):
    """Two cameras of one size (a zoom): frame_2's focal 40, frame_10's 80; frame_2 comes first with its K and lens."""
    folder = tmp_path / "m"
    folder.mkdir()
    recon = pycolmap.Reconstruction()
    for camera_id, focal in ((1, 80.0), (2, 40.0)):
        recon.add_camera_with_trivial_rig(pycolmap.Camera(camera_id=camera_id, model="SIMPLE_RADIAL", width=64,
                                                          height=48, params=[focal, 32.0, 24.0, 0.01 * camera_id]))
    for image_id, (name, camera_id) in enumerate((("frame_10.png", 1), ("frame_2.png", 2)), 1):
        recon.add_image_with_trivial_frame(pycolmap.Image(name=name, camera_id=camera_id, image_id=image_id),
                                           pycolmap.Rigid3d(np.eye(4)[:3].copy()))
    recon.write_binary(str(folder))
    cam = read_camera_path(folder)
    assert cam.names == ["frame_2.png", "frame_10.png"]
    assert cam.K[:, 0, 0].tolist() == [40 / 64, 80 / 64]


def test_zero_padded_names_keep_their_order(tmp_path):
    names = ["a_001.png", "a_002.png", "a_010.png", "b_001.png"]
    _model(tmp_path / "m", names[::-1], [3.0, 2.0, 1.0, 0.0], [1, 2, 3, 4])
    cam = read_camera_path(tmp_path / "m")
    assert cam.names == names and cam.c2w[:, 0, 3].tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("text", [False, True])
def test_a_model_without_its_points3d_file_gives_its_cameras(tmp_path, text):
    """cameras + images without points3D.bin / .txt (the points deleted to save space, a model written by hand for
    COLMAP's known-poses workflow) were refused with pycolmap's 'rigs, cameras, frames, images, points3D files do
    not exist', though the cameras were there; a camera path needs no points (its scene depth is then unknown)."""
    folder = _model(tmp_path / "m", ["a.png", "b.png"], [0.0, 1.0], [1, 2], text)
    (folder / f"points3D.{'txt' if text else 'bin'}").unlink()
    before = sorted(p.name for p in folder.iterdir())
    cam = read_camera_path(folder)
    assert cam.names == ["a.png", "b.png"] and cam.c2w[:, 0, 3].tolist() == [0.0, 1.0]
    assert cam.scene_depth is None
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written into the user's folder


def test_a_cut_short_binary_model_without_points_is_named_as_the_users(tmp_path):
    folder = _model(tmp_path / "m", ["a.png", "b.png"], [0.0, 1.0], [1, 2])
    (folder / "points3D.bin").unlink()
    (folder / "images.bin").write_bytes((folder / "images.bin").read_bytes()[:-5])
    with pytest.raises(ValueError, match=rf"^{folder / 'images.bin'}: not a whole COLMAP binary file"):
        read_camera_path(folder)


def _hand_written_text_model(folder: Path, images_txt: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "cameras.txt").write_text("# Camera list\n1 PINHOLE 64 48 50 50 32 24\n")
    (folder / "points3D.txt").write_text("")
    (folder / "images.txt").write_text(images_txt)
    return folder


def _image_line(i: int) -> str:
    return f"{i} 1 0 0 0 {-i} 0 0 1 img{i}.png"


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_an_images_txt_of_one_line_per_image_is_refused_naming_the_line(tmp_path, ending):
    """COLMAP's images.txt gives each image two lines (the second its 2D points, empty for none); written with one
    line per image, COLMAP took every other image line for the points of the one before: a path of 2 cameras of 4
    (img1, img3), without a word."""
    folder = _hand_written_text_model(tmp_path / "m", "# Image list\n" + "".join(_image_line(i) + ending
                                                                                 for i in range(1, 5)))
    with pytest.raises(ValueError, match=rf"^{folder / 'images.txt'}: line 3 follows image 1 \(img1\.png\) where its "
                                         r"2D points go .*10 values.*two lines per image"):
        read_camera_path(folder)


def test_an_images_txt_whose_last_image_has_no_points_line_is_refused(tmp_path):
    """The last image line at the end of the file, without the (empty) points line after it: COLMAP dropped that
    image."""
    folder = _hand_written_text_model(tmp_path / "m", f"{_image_line(1)}\n\n{_image_line(2)}\n")
    with pytest.raises(ValueError, match=rf"^{folder / 'images.txt'}: image 2 \(img2\.png\) on line 3 has no 2D "
                                         "points line after it"):
        read_camera_path(folder)


def test_an_images_txt_written_as_colmap_writes_it_is_read(tmp_path):
    """Points lines of triplets (point3D id -1: none), empty ones, comments and blank lines between images."""
    text = (f"\ufeff# Image list\n\n{_image_line(1)}\n1.5 2.5 -1 3 4 -1\n\n# a note\n{_image_line(2)}\n\n"
            f"{_image_line(3)}\n5 5 -1\n")
    cam = read_camera_path(_hand_written_text_model(tmp_path / "m", text))
    assert cam.names == ["img1.png", "img2.png", "img3.png"] and cam.c2w[:, 0, 3].tolist() == [1.0, 2.0, 3.0]


def test_cameras_and_images_of_two_kinds_are_refused_naming_them(tmp_path):
    """cameras.txt beside images.bin (a hand-edited cameras file): pycolmap said 'rigs, cameras, frames, images,
    points3D files do not exist' (of a temporary folder where points3D was missing too)."""
    folder = _model(tmp_path / "m", ["a.png", "b.png"], [0.0, 1.0], [1, 2])
    (folder / "cameras.bin").unlink()
    (folder / "cameras.txt").write_text("1 PINHOLE 64 48 50 50 32 24\n")
    for points in (True, False):
        if not points:
            (folder / "points3D.bin").unlink()
        with pytest.raises(ValueError, match=rf"^{folder}: holds cameras\.txt and images\.bin; a COLMAP model's "
                                             r"cameras and images are both binary \(\.bin\) or both text \(\.txt\)$"):
            read_camera_path(folder)


def test_a_cameras_file_without_images_is_named_as_not_a_whole_model(tmp_path):
    """cameras.bin alone (given as the file): pycolmap's 'rigs, cameras, frames, images, points3D files do not
    exist'."""
    folder = _model(tmp_path / "m", ["a.png"], [0.0], [1])
    for name in ("images.bin", "points3D.bin", "frames.bin"):
        (folder / name).unlink()
    with pytest.raises(ValueError, match=rf"^{folder}: no images\.bin or images\.txt beside its cameras\.bin \(not a "
                                         r"whole COLMAP model\)$"):
        read_camera_path(folder / "cameras.bin")


def _one_camera_model(folder: Path, model: str) -> Path:
    """Two images of one camera of COLMAP model ``model`` (pycolmap's default parameters: focal 100, 200 x 100)."""
    folder.mkdir(parents=True)
    recon = pycolmap.Reconstruction()
    recon.add_camera_with_trivial_rig(
        pycolmap.Camera.create_from_model_id(1, getattr(pycolmap.CameraModelId, model), 100.0, 200, 100))
    for i in range(2):
        w2c = np.eye(4)[:3].copy()
        w2c[0, 3] = -i
        recon.add_image_with_trivial_frame(pycolmap.Image(name=f"{i}.jpg", camera_id=1, image_id=i + 1),
                                           pycolmap.Rigid3d(w2c))
    recon.write_binary(str(folder))
    return folder


def test_a_panorama_camera_is_refused_naming_the_image_and_its_model(tmp_path):
    """COLMAP's EQUIRECTANGULAR camera (a 360 panorama): pycolmap's '[camera.cc:64] Check failed: IsPerspective()
    CalibrationMatrix() only defined for perspective cameras.', naming neither the image nor the model."""
    if not hasattr(pycolmap.CameraModelId, "EQUIRECTANGULAR"):
        pytest.skip("this pycolmap has no EQUIRECTANGULAR camera model")
    folder = _one_camera_model(tmp_path / "m", "EQUIRECTANGULAR")
    with pytest.raises(ValueError, match=rf"^{folder}: image '0\.jpg': camera 1 has camera model EQUIRECTANGULAR, "
                                         "which no pinhole K describes"):
        read_camera_path(folder)


def test_an_extended_unified_camera_is_a_fisheye(tmp_path):
    """EUCM (the extended unified camera model, for fisheye and wide-angle lenses: x / (alpha d + (1 - alpha) z))
    was taken for a perspective camera: generate --camera used its focal length as a pinhole's."""
    if not hasattr(pycolmap.CameraModelId, "EUCM"):
        pytest.skip("this pycolmap has no EUCM camera model")
    from genxd.camera_arguments import camera_path_of

    folder = _one_camera_model(tmp_path / "m", "EUCM")
    assert len(read_camera_path(folder)) == 2  # its poses are read (--camera-from-video follows them)
    with pytest.raises(ValueError, match=r"image '0\.jpg' has camera model EUCM, a fisheye camera; a camera path "
                                         "takes perspective cameras"):
        camera_path_of(folder)
