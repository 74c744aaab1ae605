"""Property test: every camera file format genxd writes reads back as the cameras written.

Random valid camera paths (any rotation, rotations within 1e-12 rad of 180 degrees and at gimbal lock, positions
from 1e-6 to 1e11, fx != fy, principal points off centre and outside the image, odd and non-square image sizes up
to COLMAP's 2^20, one frame or many, with or without frame times) are written in each format and read back with
genxd's reader (:func:`genxd.cameras.read_camera_path`) and with an independent reader that knows only the format's
published definition: plain ``json`` + numpy for the authors' camera JSON, the w2c lists and nerfstudio's
``transforms.json`` (OpenGL camera-to-world, pixel ``fl_x, fl_y, cx, cy, w, h``, ``frames[i].time``), and
``struct`` for COLMAP's binary model (COLMAP's ``reconstruction_io`` layout, Hamilton quaternions ``w, x, y, z``).
Then across formats: A -> genxd -> B -> genxd equals A, for what both formats store.

Tolerance (float64 all the way; the files hold float64): rotations 1e-12, positions 1e-12 of
``max(1, |position|)``, normalised intrinsics 1e-12 relative, image sizes and frame times exactly (JSON writes a
float's shortest repr, which reads back to the same float).
"""

from __future__ import annotations

import json
import math
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from genxd.cameras import (  # noqa: E402
    CameraPath,
    read_camera_path,
    save_camera_json,
    save_transforms_json,
    save_w2c_list_json,
    write_colmap_model,
)

ROT_TOL = 1e-12
POS_TOL = 1e-12  # of max(1, |position|)
K_TOL = 1e-12  # relative
GL = np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV <-> OpenGL camera axes (conventions.md)

# derandomized: the same examples on every machine and run (no database), each format's edge cases explicit below
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------------------------------
# Random cameras
# ---------------------------------------------------------------------------------------------------------------

def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' rotation matrix (numpy only, float64)."""
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def _unit(draw: st.DrawFn) -> np.ndarray:
    v = np.array(draw(st.lists(st.floats(-1, 1), min_size=3, max_size=3)))
    return v if np.linalg.norm(v) > 1e-3 else np.array([0.0, 0.0, 1.0])


@st.composite
def rotations(draw: st.DrawFn) -> np.ndarray:
    kind = draw(st.sampled_from(["any", "near180", "gimbal", "identity", "axis180"]))
    if kind == "identity":
        return np.eye(3)
    if kind == "any":  # a random unit quaternion (w, x, y, z)
        q = np.array(draw(st.lists(st.floats(-1, 1), min_size=4, max_size=4)))
        if np.linalg.norm(q) < 1e-3:
            q = np.array([0.0, 1.0, 0.0, 0.0])
        w, x, y, z = q / np.linalg.norm(q)
        return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                         [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                         [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    if kind == "axis180":  # half turns about the camera axes: a flip of two axes
        return np.diag(draw(st.sampled_from([[1.0, -1, -1], [-1.0, 1, -1], [-1.0, -1, 1]])))
    if kind == "near180":
        eps = draw(st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-3]))
        return _axis_angle(_unit(draw), math.pi - eps)
    # gimbal lock of x-y-z Euler angles: the middle angle at +-90 degrees (or just off it)
    a, c = draw(st.floats(-math.pi, math.pi)), draw(st.floats(-math.pi, math.pi))
    b = draw(st.sampled_from([1.0, -1.0])) * math.pi / 2 + draw(st.sampled_from([0.0, 1e-9, -1e-6]))
    return _axis_angle(np.array([1.0, 0, 0]), a) @ _axis_angle(np.array([0, 1.0, 0]), b) @ _axis_angle(
        np.array([0, 0, 1.0]), c)


@st.composite
def intrinsics(draw: st.DrawFn) -> np.ndarray:
    """Normalised K: fx/W and fy/H apart, principal point anywhere near the image (also outside it)."""
    K = np.eye(3)
    K[0, 0] = 10 ** draw(st.floats(-2, 2))
    K[1, 1] = 10 ** draw(st.floats(-2, 2))
    K[0, 2] = draw(st.one_of(st.just(0.5), st.floats(-1, 2)))
    K[1, 2] = draw(st.one_of(st.just(0.5), st.floats(-1, 2)))
    return K


SIDES = st.one_of(st.sampled_from([1, 2, 3, 255, 256, 257, 1080, 1 << 20]), st.integers(1, 1 << 20))


@st.composite
def camera_paths(draw: st.DrawFn, times: bool = True) -> dict:
    n = draw(st.one_of(st.integers(1, 4), st.just(40)))
    c2w = np.tile(np.eye(4), (n, 1, 1))
    for i in range(n):
        c2w[i, :3, :3] = draw(rotations())
        c2w[i, :3, 3] = _unit(draw) * 10 ** draw(st.floats(-6, 11)) * draw(st.sampled_from([1.0, 0.0]) if i else
                                                                           st.just(1.0))
    shared = draw(st.booleans())
    K = np.stack([draw(intrinsics())] * n) if shared else np.stack([draw(intrinsics()) for _ in range(n)])
    frame_times = None
    if times and draw(st.booleans()):
        frame_times = np.array(draw(st.one_of(
            st.just(list(np.linspace(0, 1, n))),  # what genxd writes: [0, 1] over the clip
            st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))))
    return dict(c2w=c2w, K=K, height=draw(SIDES), width=draw(SIDES), times=frame_times)


# ---------------------------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------------------------

def assert_poses(c2w: np.ndarray, expected: np.ndarray, what: str) -> None:
    c2w, expected = np.asarray(c2w, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert c2w.shape == expected.shape, what
    rot = np.abs(c2w[:, :3, :3] - expected[:, :3, :3]).max()
    scale = np.maximum(1.0, np.abs(expected[:, :3, 3]).max(axis=-1, keepdims=True))
    pos = (np.abs(c2w[:, :3, 3] - expected[:, :3, 3]) / scale).max()
    assert rot <= ROT_TOL, f"{what}: rotation off by {rot:.3g}"
    assert pos <= POS_TOL, f"{what}: position off by {pos:.3g} of its size"
    np.testing.assert_array_equal(c2w[:, 3], expected[:, 3], err_msg=what)


def assert_intrinsics(K: np.ndarray, expected: np.ndarray, what: str) -> None:
    K, expected = np.asarray(K, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    scale = np.maximum(np.abs(expected), 1.0)
    off = (np.abs(K - expected) / scale).max()
    assert off <= K_TOL, f"{what}: normalised K off by {off:.3g} (fx != fy, principal point kept?)"


def assert_path(cam: CameraPath, p: dict, what: str, *, intrinsics_too: bool = True, times_too: bool = True) -> None:
    assert len(cam) == len(p["c2w"]), what
    assert_poses(cam.c2w.numpy(), p["c2w"], what)
    if intrinsics_too:
        assert (cam.height, cam.width) == (p["height"], p["width"]), f"{what}: image size"
        assert_intrinsics(cam.K.numpy(), p["K"], what)
    if times_too:
        if p["times"] is None:
            assert cam.times is None, f"{what}: times appeared"
        else:
            assert cam.times is not None, f"{what}: times dropped"
            assert cam.times.numpy().tolist() == list(p["times"]), f"{what}: times changed"


def read(path: Path, **kwargs) -> CameraPath:
    return read_camera_path(path, dtype=torch.float64, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Independent readers (the formats' definitions, no genxd code)
# ---------------------------------------------------------------------------------------------------------------

def _w2c_to_c2w(w2c: np.ndarray) -> np.ndarray:
    out = np.tile(np.eye(4), (len(w2c), 1, 1))
    out[:, :3, :4] = w2c[:, :3, :4]
    return np.linalg.inv(out)


def independent_authors_json(path: Path) -> dict:
    obj = json.loads(path.read_text())
    h, w = obj["height"], obj["width"]
    rows = obj.get("frame_intrinsics") or [[obj["fx"], obj["fy"], obj["cx"], obj["cy"]]] * len(obj["cameras"])
    K = np.tile(np.eye(3), (len(rows), 1, 1))
    for k, (fx, fy, cx, cy) in zip(K, rows):
        k[0, 0], k[1, 1], k[0, 2], k[1, 2] = fx / w, fy / h, cx / w, cy / h
    return dict(c2w=_w2c_to_c2w(np.array(obj["cameras"])), K=K, height=h, width=w, times=obj.get("times"))


def independent_transforms_json(path: Path) -> dict:
    obj = json.loads(path.read_text())
    frames = obj["frames"]
    c2w = np.array([f["transform_matrix"] for f in frames]) @ GL  # OpenGL -> OpenCV camera axes
    K = np.tile(np.eye(3), (len(frames), 1, 1))
    for k, f in zip(K, frames):
        v = {key: f.get(key, obj.get(key)) for key in ("fl_x", "fl_y", "cx", "cy", "w", "h")}
        k[0, 0], k[1, 1], k[0, 2], k[1, 2] = v["fl_x"] / v["w"], v["fl_y"] / v["h"], v["cx"] / v["w"], v["cy"] / v["h"]
    times = [f["time"] for f in frames] if "time" in frames[0] else None
    return dict(c2w=c2w, K=K, height=obj["h"], width=obj["w"], times=times, names=[f["file_path"] for f in frames])


def _quaternion_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    w, x, y, z = np.array([w, x, y, z]) / np.linalg.norm([w, x, y, z])
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def independent_colmap_binary(folder: Path) -> dict:
    """cameras.bin and images.bin parsed with struct; images in name order (as genxd reads them)."""
    data = (folder / "cameras.bin").read_bytes()
    (count,), pos, cameras = struct.unpack_from("<Q", data), 8, {}
    for _ in range(count):
        cam_id, model, width, height = struct.unpack_from("<IiQQ", data, pos)
        assert model == 1, "PINHOLE (model id 1) expected"
        cameras[cam_id] = (width, height, struct.unpack_from("<4d", data, pos + 24))
        pos += 24 + 32
    data = (folder / "images.bin").read_bytes()
    (count,), pos, images = struct.unpack_from("<Q", data), 8, []
    for _ in range(count):
        _, qw, qx, qy, qz, tx, ty, tz, cam_id = struct.unpack_from("<I4d3dI", data, pos)
        end = data.index(b"\0", pos + 64)
        name = data[pos + 64:end].decode()
        (points,) = struct.unpack_from("<Q", data, end + 1)
        pos = end + 1 + 8 + 24 * points
        w2c = np.eye(4)
        w2c[:3, :3], w2c[:3, 3] = _quaternion_matrix(qw, qx, qy, qz), [tx, ty, tz]
        images.append((name, w2c, cameras[cam_id]))
    images.sort(key=lambda im: im[0])
    K = np.tile(np.eye(3), (len(images), 1, 1))
    for k, (_, _, (width, height, (fx, fy, cx, cy))) in zip(K, images):
        k[0, 0], k[1, 1], k[0, 2], k[1, 2] = fx / width, fy / height, cx / width, cy / height
    (width, height, _), = {im[2][:2] + (None,) for im in images}
    return dict(c2w=np.linalg.inv(np.stack([im[1] for im in images])), K=K, height=height, width=width, times=None,
                names=[im[0] for im in images])


# ---------------------------------------------------------------------------------------------------------------
# Writers by format name
# ---------------------------------------------------------------------------------------------------------------

def names_for(n: int) -> list[str]:
    return [f"{i:05d}.png" for i in range(n)]


def write(fmt: str, folder: Path, p: dict) -> Path:
    c2w, K, h, w, times = p["c2w"], p["K"], p["height"], p["width"], p["times"]
    if fmt == "authors":
        return save_camera_json(folder / "authors.json", c2w, K, h, w, times=times)
    if fmt == "transforms":
        return save_transforms_json(folder / "transforms.json", c2w, K, h, w, times=times)
    if fmt in ("w2c", "w2c18"):
        return save_w2c_list_json(folder / f"{fmt}.json", c2w, save_format="3x4" if fmt == "w2c" else "18")
    if fmt == "colmap":
        return write_colmap_model(folder / "colmap", c2w, K, h, w, names_for(len(c2w)))
    raise AssertionError(fmt)


#: what each format stores: (intrinsics and image size, frame times)
STORES = {"authors": (True, True), "transforms": (True, True), "colmap": (True, False), "w2c": (False, False),
          "w2c18": (False, False)}


# ---------------------------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------------------------

@SETTINGS
@given(camera_paths())
def test_json_camera_files_round_trip(p):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for fmt, independent in (("authors", independent_authors_json), ("transforms", independent_transforms_json)):
            path = write(fmt, folder, p)
            assert_path(read(path), p, f"{fmt} read by genxd")
            theirs = independent(path)
            assert_poses(theirs["c2w"], p["c2w"], f"{fmt} read by json")
            assert_intrinsics(theirs["K"], p["K"], f"{fmt} read by json")
            assert (theirs["height"], theirs["width"]) == (p["height"], p["width"])
            assert theirs["times"] == (None if p["times"] is None else list(p["times"]))


@settings(SETTINGS, max_examples=20)
@given(camera_paths(times=False), st.integers(1, 4096), st.integers(1, 4096), st.floats(0.05, 20))
def test_w2c_lists_round_trip_with_default_intrinsics(p, height, width, focal):
    with tempfile.TemporaryDirectory() as d:
        for fmt in ("w2c", "w2c18"):
            path = write(fmt, Path(d), p)
            cam = read(path, height=height, width=width, default_focal=focal)
            assert_path(cam, p, fmt, intrinsics_too=False)
            assert not cam.intrinsics_known and (cam.height, cam.width) == (height, width)
            # the default K is made in float32 (intrinsics_from_focal): 1e-7, not the files' 1e-12
            default = np.tile(np.diag([focal, focal, 1.0]), (len(cam), 1, 1)) + np.array([[0, 0, .5], [0, 0, .5], [0, 0, 0]])
            np.testing.assert_allclose(cam.K.numpy(), default, rtol=1e-7, err_msg=fmt)
            obj = json.loads(path.read_text())
            w2c = np.array(obj) if fmt == "w2c" else np.array(obj["camera"])[:, 6:].reshape(-1, 3, 4)
            if fmt == "w2c18":
                assert not np.any(np.array(obj["camera"])[:, :6]), "the authors' 18 layout: six zeros first"
            assert_poses(_w2c_to_c2w(w2c), p["c2w"], f"{fmt} read by numpy")


@settings(SETTINGS, max_examples=15)
@given(camera_paths())
def test_colmap_models_round_trip(p):
    pycolmap = pytest.importorskip("pycolmap")
    with tempfile.TemporaryDirectory() as d:
        folder = write("colmap", Path(d), p)
        assert_path(read(folder), p, "COLMAP binary read by genxd", times_too=False)
        theirs = independent_colmap_binary(folder)
        assert theirs["names"] == names_for(len(p["c2w"]))
        assert_poses(theirs["c2w"], p["c2w"], "COLMAP binary read by struct")
        assert_intrinsics(theirs["K"], p["K"], "COLMAP binary read by struct")
        assert (theirs["height"], theirs["width"]) == (p["height"], p["width"])
        text = Path(d) / "text"
        text.mkdir()
        pycolmap.Reconstruction(str(folder)).write_text(str(text))
        assert_path(read(text), p, "COLMAP text read by genxd", times_too=False)


@settings(SETTINGS, max_examples=20)
@given(camera_paths(), st.sampled_from(["authors", "transforms", "colmap"]),
       st.sampled_from(["authors", "transforms", "colmap", "w2c", "w2c18"]))
def test_any_format_through_genxd_into_any_other(p, first, second):
    """A -> genxd -> B -> genxd: B holds A's cameras, for what both store."""
    pytest.importorskip("pycolmap")
    with tempfile.TemporaryDirectory() as d:
        for sub in ("a", "b"):
            (Path(d) / sub).mkdir()
        a = read(write(first, Path(d) / "a", p))
        read_back = dict(c2w=a.c2w.numpy(), K=a.K.numpy(), height=a.height, width=a.width,
                         times=None if a.times is None else a.times.numpy())
        b = read(write(second, Path(d) / "b", read_back), height=a.height, width=a.width)
        intrinsics_kept = STORES[second][0]
        times_kept = STORES[first][1] and STORES[second][1]
        assert_path(b, p, f"{first} -> {second}", intrinsics_too=intrinsics_kept, times_too=times_kept)
