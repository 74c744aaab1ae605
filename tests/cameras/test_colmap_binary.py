"""Corrupt COLMAP models and camera files found by the input fuzzer (``benchmarks/fuzz_inputs.py``): each is a
ValueError naming the file, never a hang, a traceback from deep inside, or cameras that give the model
non-finite rays.

Before the fixes: a cut-short or corrupt ``points3D.bin`` / ``images.bin`` made pycolmap loop over the billions
of records its count claimed (a quarter of mutated binary models never returned); a NaN focal length, a zero
one or a principal point of 1e308 read as a camera path and became NaN / infinite rays (or a singular-matrix
error) in the model's conditioning.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genxd.cameras import trajectories
from genxd.cameras.colmap_binary import check_colmap_binary
from genxd.cameras.formats import save_camera_json, write_colmap_model
from genxd.cameras.reader import read_camera_path
from tests.helpers import ROOT, assert_fuzz_finds_nothing


def _model(tmp_path: Path, name: str = "model", **kw) -> Path:
    c2w, K = trajectories.orbit(num_frames=4)
    return write_colmap_model(tmp_path / name, c2w, K, 48, 64, [f"{i:05d}.png" for i in range(4)], **kw)


def _refused(path: Path, *expected: str) -> str:
    with pytest.raises(ValueError) as info:
        read_camera_path(path)
    message = str(info.value)
    assert str(path) in message, message
    for text in expected:
        assert text in message, message
    return message


def test_whole_models_pass_the_check_and_read(tmp_path):
    for model in (_model(tmp_path), _model(tmp_path, "rigs", keep_rigs_and_frames=True)):
        assert check_colmap_binary(model) is True
        assert len(read_camera_path(model)) == 4


def test_a_rig_with_several_sensors_passes_the_check(tmp_path):
    pycolmap = pytest.importorskip("pycolmap")
    recon = pycolmap.Reconstruction()
    for cid in (1, 2, 3):
        recon.add_camera(pycolmap.Camera(camera_id=cid, model="PINHOLE", width=10, height=10, params=[5, 5, 5, 5]))
    rig = pycolmap.Rig(rig_id=1)
    rig.add_ref_sensor(pycolmap.sensor_t(pycolmap.SensorType.CAMERA, 1))
    rig.add_sensor(pycolmap.sensor_t(pycolmap.SensorType.CAMERA, 2), pycolmap.Rigid3d())  # with a pose
    rig.add_sensor(pycolmap.sensor_t(pycolmap.SensorType.CAMERA, 3), None)  # without
    recon.add_rig(rig)
    (tmp_path / "m").mkdir()
    recon.write_binary(str(tmp_path / "m"))
    assert (tmp_path / "m" / "rigs.bin").stat().st_size == 8 + 16 + (9 + 56) + 9
    assert check_colmap_binary(tmp_path / "m") is True


def test_a_text_model_is_left_to_pycolmap(tmp_path):
    (tmp_path / "cameras.txt").write_text("")
    assert check_colmap_binary(tmp_path) is False


def _read_in_child(models: list[Path], timeout: float = 120) -> list[str]:
    """``read_camera_path`` of each of ``models`` in one child process (a regression would hang, not fail: the
    timeout ends it); the one-line outcome of each, in order."""
    code = ("import sys\nfrom genxd.cameras.reader import read_camera_path\n"
            "for model in sys.argv[1:]:\n"
            "    try:\n        read_camera_path(model); print('read', flush=True)\n"
            "    except ValueError as e:\n        print('ValueError', str(e).replace('\\n', ' '), flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code, *map(str, models)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    outcomes = done.stdout.splitlines()
    assert len(outcomes) == len(models), (done.stdout, done.stderr)
    return outcomes


_CORRUPT_POINTS3D = {"count-2^62": b"\x00" * 7 + b"\x40", "cut-inside-the-count": b"\x00",
                     "bytes-after-the-last-record": b"\x00" * 8 + b"\x00\x00"}


@pytest.fixture(scope="module")
def corrupt_points3d(tmp_path_factory):
    """The models of the corrupt ``points3D.bin`` cases, each read in one child process (one interpreter for the
    three: starting one costs seconds of imports): {case: (model, the child's outcome)}. The tests do not change
    the models."""
    root = tmp_path_factory.mktemp("corrupt_points3d")
    models = {}
    for case, data in _CORRUPT_POINTS3D.items():
        models[case] = _model(root, case)
        (models[case] / "points3D.bin").write_bytes(data)
    return dict(zip(models, zip(models.values(), _read_in_child(list(models.values())))))


@pytest.mark.parametrize("case", list(_CORRUPT_POINTS3D))
def test_a_corrupt_points3d_file_is_a_clear_error_not_a_hang(corrupt_points3d, case):
    model, outcome = corrupt_points3d[case]
    with pytest.raises(ValueError, match="points3D.bin: not a whole COLMAP binary file"):
        check_colmap_binary(model)
    assert outcome.startswith("ValueError") and str(model / "points3D.bin") in outcome, outcome


def test_corrupt_images_and_cameras_files(tmp_path):
    model = _model(tmp_path)
    images = (model / "images.bin").read_bytes()
    (model / "images.bin").write_bytes(images[:-3])  # cut inside the last image's 2D point count
    _refused(model, "images.bin", "ends at byte")
    (model / "images.bin").write_bytes(struct.pack("<Q", 1) + images[8:8 + 64] + b"x" * 40)  # a name without end
    _refused(model, "images.bin", "the name has no end")
    points = struct.pack("<Q", 2**40)
    first_count = 8 + 64 + len(b"00000.png") + 1
    (model / "images.bin").write_bytes(images[:first_count] + points + images[first_count + 8:])
    _refused(model, "images.bin", "2D points")

    model = _model(tmp_path, "cams")
    cameras = bytearray((model / "cameras.bin").read_bytes())
    cameras[12:16] = struct.pack("<i", 99)  # the first camera's model id
    (model / "cameras.bin").write_bytes(bytes(cameras))
    _refused(model, "cameras.bin", "unknown camera model id 99")


@pytest.mark.parametrize("param, value, expected", [
    (0, float("nan"), "NaN or infinite"),
    (0, 0.0, "focal lengths must be positive"),
    (2, 1e308, "principal point"),
], ids=["nan-focal", "zero-focal", "huge-principal-point"])
def test_a_model_whose_camera_gives_no_usable_rays_is_refused(tmp_path, param, value, expected):
    model = _model(tmp_path)
    cameras = bytearray((model / "cameras.bin").read_bytes())
    at = 8 + 24 + 8 * param  # PINHOLE params fx, fy, cx, cy after the count and the camera's fields
    cameras[at:at + 8] = struct.pack("<d", value)
    (model / "cameras.bin").write_bytes(bytes(cameras))
    message = _refused(model, expected)
    assert "image '00000.png'" in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300])
def test_a_model_with_a_3d_point_that_is_not_finite_is_refused(tmp_path, value):
    """The points seed the Gaussians of ``genxd reconstruct``: one NaN point made NaN parameters (left in the
    session-24 note; refused since)."""
    xyz = torch.tensor([[0.0, 0.0, 2.0], [0.2, 0.0, 2.0], [0.1, 0.1, 2.0]], dtype=torch.float64)
    model = _model(tmp_path, points_xyz=xyz, points_rgb=torch.full((3, 3), 128, dtype=torch.uint8))
    assert len(read_camera_path(model)) == 4
    points = bytearray((model / "points3D.bin").read_bytes())
    points[16:24] = struct.pack("<d", value)  # the first point's x, after the count and its id
    (model / "points3D.bin").write_bytes(bytes(points))
    _refused(model, "1 of 3 3D points are not finite or farther than 1e+12 from the origin")


def test_a_model_with_a_zero_image_width_is_refused(tmp_path):
    model = _model(tmp_path)
    cameras = bytearray((model / "cameras.bin").read_bytes())
    cameras[16:24] = struct.pack("<Q", 0)  # width
    (model / "cameras.bin").write_bytes(bytes(cameras))
    _refused(model, "image size 0x48")


def test_camera_json_values_that_overflow_float32_are_refused(tmp_path):
    c2w, K = trajectories.orbit(num_frames=3)
    save_camera_json(tmp_path / "far.json", c2w, K, 48, 64)
    data = json.loads((tmp_path / "far.json").read_text())
    data["cameras"][1][0][3] = 1e300
    (tmp_path / "far.json").write_text(json.dumps(data))
    _refused(tmp_path / "far.json", "camera position of 1e+300")

    meta = {"kind": "4d", "height": 48, "width": 64, "c2w_opencv": c2w.double().tolist(),
            "K_normalized": K.double().tolist()}
    meta["K_normalized"][0][1][0] = 1e308  # below the diagonal: not a pinhole matrix, and a singular inverse
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    _refused(tmp_path / "meta.json", "not a pinhole intrinsic matrix")
    meta["K_normalized"][0][1][0] = 0.0
    meta["K_normalized"][2][0][2] = 1e30  # cx: finite in float64, infinite rays in float32 before
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    _refused(tmp_path / "meta.json", "principal point")


def test_every_accepted_camera_file_of_the_fuzzer_gives_finite_rays(tmp_path):
    """A fixed-seed run of the three camera targets: no finding (case 0 of ``colmap-bin`` hung before)."""
    for name in ("colmap-bin", "colmap-txt", "camera-json"):
        counts = assert_fuzz_finds_nothing(name, 60, tmp_path)
        assert counts["ok"] > 0 and counts["clear"] > 0, counts


def test_the_fuzzers_rays_are_the_models_camera_condition(tmp_path):
    """The camera targets' check computes the rays from ``plucker_rays`` / ``relative_poses`` (not importing the
    model's stack in each worker): they must stay what ``camera_rays`` gives the model."""
    from genxd.pipelines.conditioning import camera_rays
    from tests.helpers import load_script

    load_script("benchmarks/fuzz_inputs.py")  # puts benchmarks/ on sys.path for the targets' own imports
    targets = load_script("benchmarks/fuzz_targets_cameras.py")
    c2w, K = trajectories.orbit(num_frames=5)
    K = K.clone()
    K[..., 0, 2] += 0.07  # an off-centre principal point and a non-reference first view: every term counts
    save_camera_json(tmp_path / "cameras.json", c2w.roll(1, 0), K, 48, 64)
    read = read_camera_path(tmp_path / "cameras.json")
    expected = camera_rays(read.c2w.float(), read.K.float(), read.c2w.float()[:1], 8, 8)
    torch.testing.assert_close(targets.read_and_use(tmp_path / "cameras.json"), expected, rtol=0, atol=0)


def test_a_model_whose_image_quaternion_is_zero_is_refused_not_read_as_the_identity(tmp_path):
    # was: Eigen turns the quaternion 0 0 0 0 into the identity rotation, and the image read as a camera looking
    # down +z from wherever its translation put it
    model = _model(tmp_path)
    images = bytearray((model / "images.bin").read_bytes())
    images[12:44] = struct.pack("<4d", 0.0, 0.0, 0.0, 0.0)  # the first image's qvec, after the count and its id
    (model / "images.bin").write_bytes(bytes(images))
    _refused(model, "image '00000.png'", "rotation quaternion (w, x, y, z) [0.0, 0.0, 0.0, 0.0] is zero")
    text = tmp_path / "text"
    text.mkdir()
    (text / "cameras.txt").write_text("1 PINHOLE 64 48 50 50 32 24\n")
    (text / "images.txt").write_text("1 0 0 0 0 0 0 0 1 a.png\n\n2 1 0 0 0 0 0 1 1 b.png\n\n")
    (text / "points3D.txt").write_text("")
    _refused(text, "image 'a.png'", "is zero: no camera orientation")
    (text / "images.txt").write_text("1 1 0 0 0 0 0 0 1 a.png\n\n2 1 0 0 0 0 0 1 1 b.png\n\n")
    assert len(read_camera_path(text)) == 2


@pytest.mark.parametrize("key", ["height", "width"])
def test_a_synthetic_meta_or_transforms_image_side_beyond_colmaps_cap_is_refused(tmp_path, key):
    # was: a meta.json height of 10^9 read as a camera path of 10^9 pixels (COLMAP sizes were capped at 2^20)
    c2w, K = trajectories.orbit(num_frames=3)
    meta = {"kind": "3d", "height": 48, "width": 64, "c2w_opencv": c2w.double().tolist(),
            "K_normalized": K.double().tolist()}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    assert read_camera_path(tmp_path / "meta.json").height == 48
    meta[key] = 10**9
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    _refused(tmp_path / "meta.json", f"'{key}': an image side of 1000000000 pixels; at most 1048576")
    meta[key] = 1 << 20  # the cap itself is a size
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    assert read_camera_path(tmp_path / "meta.json").height == meta["height"]
    frames = [{"file_path": f"{i}.png", "transform_matrix": c2w[i].double().tolist()} for i in range(3)]
    transforms = {"fl_x": 50.0, "fl_y": 50.0, "cx": 32.0, "cy": 24.0, "w": 64, "h": 48, "frames": frames}
    transforms[key[0]] = 10**9
    (tmp_path / "transforms.json").write_text(json.dumps(transforms))
    _refused(tmp_path / "transforms.json", f"'{key[0]}': an image side of 1000000000 pixels")
