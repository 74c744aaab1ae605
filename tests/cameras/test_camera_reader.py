"""genxd.cameras.read_camera_path: every format genxd writes reads back; every bad file is a ValueError
naming the file (never a TypeError / ZeroDivisionError)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import (
    CameraPath,
    intrinsics_from_focal,
    load_camera_json,
    read_camera_path,
    save_camera_json,
    save_transforms_json,
    trajectories,
    write_colmap_model,
)
from genxd.cli import app

runner = CliRunner()
FORMATS = ("authors", "transforms", "colmap", "w2c")
# Exact float64 -> JSON text -> float64 (and COLMAP's quaternions): agreement to ~1e-7 in float32.
ATOL = 1e-5


def _make(tmp_path: Path, preset: str, fmt: str, n: int = 8) -> Path:
    out = tmp_path / (f"{preset}_{fmt}" + ("" if fmt == "colmap" else ".json"))
    size = [] if fmt == "w2c" else ["--height", "48", "--width", "64"]  # a w2c list stores no size
    res = runner.invoke(app, ["trajectory", "make", preset, "--format", fmt, "--num-frames", str(n), *size,
                              "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("preset", ["orbit", "zoom", "spiral"])
def test_every_trajectory_make_format_reads_back(tmp_path, preset, fmt):
    if (preset, fmt) == ("zoom", "w2c"):
        pytest.skip("refused: test_trajectory_make_w2c_refuses_what_a_w2c_list_cannot_hold")
    path = _make(tmp_path, preset, fmt)
    cam = read_camera_path(path, default_focal=1.1)
    c2w, K = trajectories.PRESETS[preset](num_frames=8)
    torch.testing.assert_close(cam.c2w, c2w, atol=ATOL, rtol=0)
    if fmt == "w2c":  # no intrinsics in the file: the default focal, image centre, 256 x 256
        assert not cam.intrinsics_known and (cam.height, cam.width) == (256, 256)
        torch.testing.assert_close(cam.K, intrinsics_from_focal(1.1).expand(8, 3, 3), atol=1e-7, rtol=0)
    else:
        assert cam.intrinsics_known and (cam.height, cam.width) == (48, 64)
        K = K.clone()
        K[:, 1, 1] *= 64 / 48  # square pixels: fy = fx in pixels (trajectory make's --focal is fx / W)
        torch.testing.assert_close(cam.K, K, atol=ATOL, rtol=0)
    assert cam.source_format in ("authors' camera JSON", "transforms.json", "COLMAP model", "w2c list JSON")


@pytest.mark.parametrize("args, option", [(["zoom"], None), (["orbit", "--focal", "2"], "--focal"),
                                          (["orbit", "--height", "100"], "--height"),
                                          (["dolly", "--width", "300"], "--width")])
def test_trajectory_make_w2c_refuses_what_a_w2c_list_cannot_hold(tmp_path, args, option):
    """A w2c list holds poses only: a zoom written as one read back as 12 copies of one still camera, and --focal,
    --height and --width were dropped without a word (the file read back at 1.414 and 256 x 256)."""
    out = tmp_path / "path.json"
    res = runner.invoke(app, ["trajectory", "make", *args, "--format", "w2c", "-o", str(out)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error: ") and "--format authors" in lines[0], lines
    assert (option or "focal length from frame to frame") in lines[0]
    assert not out.exists()
    # what it holds is still written: a zoom of factor 1 (one focal length)
    res = runner.invoke(app, ["trajectory", "make", "zoom", "--factor", "1", "--format", "w2c", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(read_camera_path(out)) == 12


def test_per_frame_intrinsics_extension_keeps_the_authors_layout(tmp_path):
    c2w, K = trajectories.zoom(num_frames=5, factor=2.0)
    obj = json.loads(save_camera_json(tmp_path / "z.json", c2w, K, 64, 64).read_text())
    # The authors' reader takes only the top-level camera: frame 0's.
    assert obj["fx"] == pytest.approx(float(K[0, 0, 0]) * 64) and obj["cx"] == 32.0
    assert [row[0] for row in obj["frame_intrinsics"]] == pytest.approx((K[:, 0, 0] * 64).tolist())
    # A shared camera writes exactly the authors' keys (no extension).
    c2w, K = trajectories.orbit(num_frames=4)
    obj = json.loads(save_camera_json(tmp_path / "o.json", c2w, K, 64, 64).read_text())
    assert set(obj) == {"fx", "fy", "cx", "cy", "height", "width", "cameras"}


def test_times_round_trip_in_authors_json_and_transforms(tmp_path):
    c2w, K = trajectories.dolly(num_frames=4)
    times = torch.tensor([0.0, 0.1, 0.5, 1.0])
    save_camera_json(tmp_path / "a.json", c2w, K, 32, 32, times=times)
    save_transforms_json(tmp_path / "t.json", c2w, K, 32, 32, times=times)
    for name in ("a.json", "t.json"):
        cam = read_camera_path(tmp_path / name)
        torch.testing.assert_close(cam.times, times.double())  # CameraPath.times: float64, the file's numbers
    assert read_camera_path(_make(tmp_path, "dolly", "authors")).times is None


def test_folders_colmap_files_curate_samples_and_synthetic_meta(tmp_path):
    c2w, K = trajectories.spiral(num_frames=6)
    names = [f"{i:06d}.jpg" for i in range(6)]
    # a genxd curate output: OUT/VIDEO/0/*.bin + meta.json with the frames' source indices
    sample = tmp_path / "curated" / "clip"
    write_colmap_model(sample / "0", c2w, K, 40, 60, names)
    frames = [{"name": n, "source_index": 2 * i, "registered": True} for i, n in enumerate(names)]
    (sample / "meta.json").write_text(json.dumps({"frames": frames}))
    for path in (sample / "0", sample / "0" / "images.bin", sample, tmp_path / "curated"):
        cam = read_camera_path(path)
        torch.testing.assert_close(cam.c2w, c2w, atol=ATOL, rtol=0)
        assert (cam.height, cam.width) == (40, 60) and cam.names == names
    torch.testing.assert_close(read_camera_path(sample).times, torch.linspace(0, 1, 6, dtype=torch.float64))
    # source indices whose span is beyond float64 (each finite) map to [0, 1] too (they read NaN); NaN: no times
    for first, last, expected in ((-1e308, 1e308, torch.tensor([0.0, 0.5, 0.5, 0.5, 0.5, 1.0])), (0, float("nan"), None)):
        indices = [first, 0, 0, 0, 0, last]
        (sample / "meta.json").write_text(json.dumps({"frames": [{**f, "source_index": i} for f, i in zip(frames, indices)]}))
        times = read_camera_path(sample).times
        assert times is None if expected is None else torch.allclose(times, expected.double()), times
    (sample / "meta.json").write_text(json.dumps({"frames": frames}))
    write_colmap_model(tmp_path / "curated" / "other" / "0", c2w, K, 40, 60, names)
    with pytest.raises(ValueError, match="2 videos.*clip, other"):
        read_camera_path(tmp_path / "curated")
    # a synthetic clip's meta data (genxd synth / data.synthetic writers)
    meta = {"c2w_opencv": c2w.tolist(), "K_normalized": K.tolist(), "height": 32, "width": 32, "kind": "4d",
            "times": torch.linspace(0, 1, 6).tolist()}
    (tmp_path / "clip.json").write_text(json.dumps(meta))
    cam = read_camera_path(tmp_path / "clip.json")
    assert cam.source_format == "genxd synthetic clip meta" and cam.times is not None
    torch.testing.assert_close(cam.K, K, atol=1e-7, rtol=0)


def test_camera_path_of_names_and_paths(tmp_path):
    from genxd.api import camera_path_of

    assert camera_path_of("orbit") is None
    with pytest.raises(FileNotFoundError, match="missing.json"):
        camera_path_of(str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="camera must be one of"):
        camera_path_of("orbitt")
    assert isinstance(camera_path_of(_make(tmp_path, "pan", "w2c")), CameraPath)


_RIGID = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
_AUTHORS = {"fx": 50, "fy": 50, "cx": 32, "cy": 32, "height": 64, "width": 64, "cameras": [_RIGID, _RIGID]}
_TRANSFORMS = {"w": 64, "h": 64, "fl_x": 50, "frames": [{"transform_matrix": _RIGID + [[0, 0, 0, 1]]}]}

#: (file name, content (str / bytes / JSON-able), what the message must say besides the file name)
BAD_FILES = [
    ("empty.json", "", "empty file"),
    ("blank.json", "  \n ", "empty file"),
    ("binary.json", b"\xff\xfe\x00\x81", "not"),
    ("broken.json", "{\"fx\": ", "not valid JSON"),
    ("null.json", None, "null"),
    ("number.json", 5, "the number 5"),
    ("string.json", "\"orbit\"", "the string"),
    ("bool.json", True, "boolean"),
    ("other_object.json", {"foo": 1}, "not a camera file"),
    ("frames_numbers.json", {"frames": [1, 2]}, "frames[0]: expected an object"),
    ("frames_empty.json", {"frames": []}, "non-empty 'frames'"),
    ("frames_null.json", {"frames": None}, "non-empty 'frames'"),
    ("no_matrix.json", {"w": 4, "h": 4, "fl_x": 3, "frames": [{}]}, "no transform_matrix"),
    ("tf_w0.json", {**_TRANSFORMS, "w": 0}, "'w': must be positive"),
    ("tf_h_str.json", {**_TRANSFORMS, "h": "64"}, "'h': expected a number"),
    ("angle0.json", {"w": 64, "h": 64, "camera_angle_x": 0, "frames": _TRANSFORMS["frames"]}, "camera_angle_x"),
    ("angle_pi.json", {"w": 64, "h": 64, "camera_angle_x": 4.0, "frames": _TRANSFORMS["frames"]}, "below pi"),
    ("tf_ragged.json", {**_TRANSFORMS, "frames": [{"transform_matrix": [[1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}]},
     "expected 4 numbers"),
    ("tf_nan.json", "{\"w\": 64, \"h\": 64, \"fl_x\": NaN, \"frames\": [{\"transform_matrix\": "
     "[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}", "finite"),
    ("tf_time.json", {**_TRANSFORMS, "frames": [{**_TRANSFORMS["frames"][0], "time": "late"}]}, "'time'"),
    ("fx_abc.json", {**_AUTHORS, "fx": "abc"}, "'fx': expected a number, got the string 'abc'"),
    ("fx_bool.json", {**_AUTHORS, "fx": True}, "'fx': expected a number"),
    ("fx_neg.json", {**_AUTHORS, "fx": -3}, "'fx': must be positive"),
    ("width0.json", {**_AUTHORS, "width": 0}, "'width': must be positive"),
    ("height_frac.json", {**_AUTHORS, "height": 63.5}, "whole number"),
    ("missing.json", {"fx": 1, "cameras": [_RIGID]}, "missing fy, cx, cy, height, width"),
    ("cams_null.json", {**_AUTHORS, "cameras": None}, "'cameras': expected a non-empty list"),
    ("cams_ragged.json", {**_AUTHORS, "cameras": [_RIGID, [[1, 0, 0, 0], [0, 1, 0]]]}, "'cameras'[1]"),
    ("cams_mixed.json", {**_AUTHORS, "cameras": [_RIGID, _RIGID + [[0, 0, 0, 1]]]}, "different numbers of rows"),
    ("cams_number.json", {**_AUTHORS, "cameras": [_RIGID, 5]}, "'cameras'[1]: expected a 3x4"),
    ("cams_scaled.json", {**_AUTHORS, "cameras": [[[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]]]}, "orthonormal"),
    ("fi_short.json", {**_AUTHORS, "frame_intrinsics": [[50, 50, 32, 32]]}, "'frame_intrinsics'"),
    ("fi_zero.json", {**_AUTHORS, "frame_intrinsics": [[50, 50, 32, 32], [0, 50, 32, 32]]}, "fx must be positive"),
    ("times_len.json", {**_AUTHORS, "times": [0.0]}, "'times': expected 2 numbers"),
    ("w2c_flat.json", [[1, 2], [3]], "matrices[0]: expected a 3x4 or 4x4 matrix"),
    ("w2c_empty.json", [], "non-empty list"),
    ("w2c_strings.json", [[["a", 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]], "expected a number"),
    ("w2c_18_short.json", {"camera": [[0] * 17]}, "expected 18 numbers"),
    ("w2c_18_null.json", {"camera": None}, "'camera' must be a non-empty"),
    ("meta_K.json", {"c2w_opencv": [_RIGID + [[0, 0, 0, 1]]], "K_normalized": [[1, 2]], "height": 8, "width": 8},
     "'K_normalized'[0]"),
    ("not_json.txt", "fx 1", "not a camera file"),
    # integers past a float's range, which JSON reads whole: an OverflowError ('int too large to convert to float')
    # without the file, a traceback from genxd generate --camera
    ("tf_fl_huge.json", {**_TRANSFORMS, "fl_x": 10 ** 400}, "'fl_x': must be finite, got an integer too large"),
    ("tf_time_huge.json", {**_TRANSFORMS, "frames": [{**_TRANSFORMS["frames"][0], "time": -10 ** 400}]}, "'time'"),
    ("height_huge.json", {**_AUTHORS, "height": 10 ** 400}, "'height': must be finite"),
    ("w2c_huge.json", [[[1, 0, 0, 10 ** 309], [0, 1, 0, 0], [0, 0, 1, 0]]], "matrices[0][0][3]: must be finite"),
    ("meta_times_huge.json", {"c2w_opencv": [_RIGID + [[0, 0, 0, 1]]], "K_normalized": [[[1, 0, .5], [0, 1, .5],
                                                                                        [0, 0, 1]]],
                              "height": 8, "width": 8, "times": [10 ** 400]}, "'times'[0]: must be finite"),
]


def _write(path: Path, content) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str) and (content.strip() == "" or not path.suffix == ".json" or content[0] in "{[\""):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))


@pytest.mark.parametrize("name, content, says", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_camera_files_raise_value_error_naming_the_file(tmp_path, name, content, says):
    path = tmp_path / name
    _write(path, content)
    with pytest.raises(ValueError) as info:
        read_camera_path(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert says in message, message
    assert "\n" not in message


def test_bad_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such camera file"):
        read_camera_path(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no camera file found"):
        read_camera_path(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"no camera file found in this folder \(expected [^)]*\)$"):
        read_camera_path(tmp_path / "empty")  # and no word of sub-folders where none holds one


def test_a_folder_of_camera_folders_names_them(tmp_path):
    """A genxd generate output of several images (out/a/cameras.json, out/b/cameras.json) given as the camera path
    said only that out holds no camera file."""
    c2w, K = trajectories.orbit(4)
    for name in ("a", "b"):
        save_transforms_json(tmp_path / "out" / name / "transforms.json", c2w, K, 32, 32)
    (tmp_path / "out" / "notes").mkdir()
    with pytest.raises(ValueError, match=r"no camera file found in this folder \(expected .*\); its sub-folders "
                                         rf"{tmp_path / 'out' / 'a'}, {tmp_path / 'out' / 'b'} hold camera paths: give "
                                         r"one of them$"):
        read_camera_path(tmp_path / "out")
    assert len(read_camera_path(tmp_path / "out" / "a").c2w) == 4


def test_bad_model_folder(tmp_path):
    bad = tmp_path / "bad_model"
    bad.mkdir()
    (bad / "cameras.bin").write_bytes(b"\x00" * 7)
    (bad / "images.bin").write_bytes(b"\x00" * 3)
    with pytest.raises(ValueError, match=str(bad)):
        read_camera_path(bad)


@pytest.mark.parametrize("bad, error, says", [
    (5, TypeError, r"^path must be a camera file or folder path, got 5 \(int\)$"),
    (None, TypeError, r"^path must be a camera file or folder path, got None"),
    ("", ValueError, r"^path is empty \(''\): pass a camera file or folder path$"),  # was the current folder
])
def test_read_camera_path_names_a_path_that_is_none(bad, error, says):
    """``read_camera_path(5)`` failed with os.fspath's "expected str, bytes or os.PathLike object, not int", and
    ``read_camera_path("")`` searched the current folder (found by the API audit)."""
    with pytest.raises(error, match=says):
        read_camera_path(bad)


def test_a_curate_samples_meta_json_nested_too_deeply_leaves_the_frame_times_out(tmp_path):
    # was: RecursionError's traceback from genxd generate --camera SAMPLE (the times are optional: an unreadable
    # meta.json gives none, as invalid JSON did)
    sample = tmp_path / "video0"
    c2w, K = trajectories.orbit(num_frames=3)
    write_colmap_model(sample / "0", c2w, K, 24, 32, [f"{i:05d}.jpg" for i in range(3)])
    (sample / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    path = read_camera_path(sample)
    assert len(path.c2w) == 3 and path.times is None


def test_a_transforms_json_whose_frame_image_claims_billions_of_pixels_is_one_error(tmp_path):
    # was: PIL's DecompressionBombError traceback (genxd generate --camera), where the image was looked at only for
    # its size (a transforms.json without w / h)
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "f0.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    frame = {"file_path": "images/f0.png", "transform_matrix": torch.eye(4).tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.8, "frames": [frame, frame]}))
    with pytest.raises(ValueError, match=r"f0.png: .*exceeds limit.*give the image size \(w, h\)"):
        read_camera_path(tmp_path / "transforms.json")


def test_several_videos_gives_the_readers_line_from_one_look(tmp_path, monkeypatch):
    """several_videos listed the curate output's samples a second time to rebuild the line the reader had raised."""
    import genxd.cameras.reader as reader

    c2w, K = trajectories.orbit(num_frames=4)
    for name in ("a", "b"):
        write_colmap_model(tmp_path / "out" / name / "0", c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(4)])
    listed = []
    real = reader._curate_samples
    monkeypatch.setattr(reader, "_curate_samples", lambda folder: listed.append(folder) or real(folder))
    line = reader.several_videos(tmp_path / "out")
    assert line == f"{tmp_path / 'out'}: a genxd curate output with 2 videos (a, b); name one of them"
    assert len(listed) == 1, listed
    with pytest.raises(ValueError, match="^" + line.replace("(", r"\(").replace(")", r"\)") + "$"):
        read_camera_path(tmp_path / "out")
    assert reader.several_videos(tmp_path / "out" / "a") is None  # a sample: read


@pytest.mark.parametrize("model, params", [("OPENCV_FISHEYE", [30.0, 30.0, 30.0, 20.0, 0.05, 0.01, 0.0, 0.0]),
                                           ("SIMPLE_RADIAL_FISHEYE", [30.0, 30.0, 20.0, 0.05]),
                                           ("SIMPLE_RADIAL", [30.0, 30.0, 20.0, 0.05])])
def test_a_colmap_model_of_fisheye_cameras_is_no_camera_path(tmp_path, model, params):
    """generate --camera (and eval-camera) used a COLMAP model of fisheye cameras with the fisheye's focal length as a
    pinhole K (a path of another field of view), as it did a fisheye transforms.json; refused now, naming the image
    and its model. A radial lens (SIMPLE_RADIAL, what curate writes) is still a path: its K is
    a perspective camera's, the distortion left out."""
    pycolmap = pytest.importorskip("pycolmap")
    c2w = torch.eye(4).repeat(3, 1, 1)
    c2w[:, 0, 3] = torch.arange(3.0)
    K = torch.tensor([[0.5, 0, 0.5], [0, 0.75, 0.5], [0, 0, 1]]).repeat(3, 1, 1)
    folder = tmp_path / "sparse" / "0"
    write_colmap_model(folder, c2w, K, 40, 60, [f"{i}.jpg" for i in range(3)])
    recon = pycolmap.Reconstruction(str(folder))
    for camera in recon.cameras.values():
        camera.model, camera.params = getattr(pycolmap.CameraModelId, model), params
    recon.write(str(folder))
    from genxd.camera_arguments import camera_path_of

    cam = read_camera_path(folder)
    assert len(cam) == 3  # the poses are read either way (--camera-from-video follows them)
    if model == "SIMPLE_RADIAL":
        assert cam.fisheye is None and len(camera_path_of(folder)) == 3
        return
    with pytest.raises(ValueError, match=rf"image '0\.jpg' has camera model {model}, a fisheye camera; a camera path "
                                         "takes perspective cameras"):
        camera_path_of(folder)


@pytest.mark.parametrize("model, params", [("OPENCV_FISHEYE", [40.0, 40.0, 40.0, 30.0, 0, 0, 0, 0]),
                                           ("SIMPLE_RADIAL", [40.0, 40.0, 30.0, -0.3])])
def test_scene_depth_of_a_colmap_model_with_a_lens_counts_the_points_the_lens_sees(tmp_path, model, params):
    """--camera-from-video's scale: a fisheye model's scene depth kept the points inside the cone of its K read as a
    pinhole camera's (45 degrees each side here, where the fisheye sees 57): the far points at 50 degrees were left
    out and the depth was the near points' (2 instead of 6). Now the undistorted pinhole camera's cone is used, for
    a radial lens too (barrel k1 -0.3: 63 degrees each side), as the training datasets measure a sample's depth."""
    import math

    pycolmap = pytest.importorskip("pycolmap")
    near = torch.tensor([[0.01 * i, 0.0, 2.0] for i in range(10)])
    z = 6.0
    far = torch.tensor([[z * math.tan(math.radians(50)) * s, 0.02 * i, z] for i in range(10) for s in (1, -1)])
    folder = tmp_path / "sparse" / "0"
    K = torch.tensor([[0.5, 0, 0.5], [0, 40 / 60, 0.5], [0, 0, 1]]).repeat(2, 1, 1)
    write_colmap_model(folder, torch.eye(4).repeat(2, 1, 1), K, 60, 80, ["0.jpg", "1.jpg"],
                       points_xyz=torch.cat([near, far]))
    assert read_camera_path(folder).scene_depth == pytest.approx(2.0)  # a pinhole camera sees the near points only
    recon = pycolmap.Reconstruction(str(folder))
    for camera in recon.cameras.values():
        camera.model, camera.params = getattr(pycolmap.CameraModelId, model), params
    recon.write(str(folder))
    cam = read_camera_path(folder)
    assert (cam.fisheye is not None) == (model == "OPENCV_FISHEYE") and cam.scene_depth == pytest.approx(z)


def test_a_dtu_scan_is_refused_with_the_way_to_a_camera_path(tmp_path, monkeypatch):
    """Found by the leftovers audit: a DTU scan given as a camera path (``generate --camera scanN`` or
    ``scanN/cameras.npz``) was "no camera file found" / "not a camera file", with no word of the scan. Its cameras
    are a capture's (read with its images by genxd.reconstruction): the refusal now says so and names the commands
    that make a camera path of them, which this test follows to the scan's own cameras."""
    import numpy as np

    from tests.reconstruction.dtu_scans import known_cameras, write_dtu_scan, write_idr_scan

    c2w = known_cameras(radius=3.0)
    K = np.array([[20.0, 0, 8], [0, 20.0, 6], [0, 0, 1]])
    idr = write_idr_scan(tmp_path / "scan40", K, c2w, None, masks=False)
    rectified = write_dtu_scan(tmp_path / "DTU", "scan41", K, c2w[:3])
    for given, scan in ((idr, idr), (idr / "cameras.npz", idr), (rectified, rectified)):
        with pytest.raises(ValueError) as refused:
            read_camera_path(given)
        message = str(refused.value)
        assert message.startswith(f"{given}: a DTU scan's cameras are not read as a camera path"), message
        assert f"genxd fewshot-data {scan} -o data/dtu" in message and f"poses/dtu/{scan.name}/" in message
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["fewshot-data", str(idr), "-o", "data/dtu"]).exit_code == 0
    assert runner.invoke(app, ["trajectory", "fit", "data/dtu", "--out", "poses", "--data-poses"]).exit_code == 0
    cam = read_camera_path(tmp_path / "poses" / "dtu" / "scan40" / "gen_poses_w2c.json", dtype=torch.float64)
    torch.testing.assert_close(cam.c2w, torch.from_numpy(c2w), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["4d", "3d"])
def test_a_synth_camvid_samples_times_are_read_from_its_meta(tmp_path, kind):
    """``genxd synth --format camvid`` writes a COLMAP model and a meta.json with ``times`` (no curate frames):
    a 4D clip's times are read, a 3D clip (all at t = 0) has none."""
    from genxd.data.synthetic.clips import make_clip, write_clip

    clip = make_clip(3, kind, num_frames=5, height=24, width=24)
    sample = write_clip(clip, tmp_path, "clip", "camvid", num_points=50)
    cam = read_camera_path(sample)
    assert cam.source_format == "genxd curate sample"
    if kind == "3d":
        assert cam.times is None
    else:
        torch.testing.assert_close(cam.times, clip.times.to(cam.times.dtype))
        # a frame the model left out (as SfM may): the others keep their own times
        from genxd.cameras import write_colmap_model
        kept = [0, 2, 3, 4]
        for f in (sample / "0").iterdir():
            f.unlink()
        write_colmap_model(sample / "0", clip.c2w[kept], clip.K.expand(5, 3, 3)[kept], 24, 24,
                           [f"{i:05d}.jpg" for i in kept])
        torch.testing.assert_close(read_camera_path(sample).times, clip.times[kept].to(cam.times.dtype))


def test_a_curate_samples_meta_json_with_integers_past_a_float_is_read_without_them(tmp_path):
    # was: OverflowError's traceback ('int too large to convert to float') from read_camera_path(SAMPLE)
    sample = tmp_path / "video0"
    names = [f"{i:05d}.jpg" for i in range(3)]
    c2w, K = trajectories.orbit(num_frames=3)
    write_colmap_model(sample / "0", c2w, K, 24, 32, names)
    frames = [{"name": n, "source_index": 2 * i, "time": 0.1 * i} for i, n in enumerate(names)]
    frames[2]["time"] = 10**400  # a time no float holds: the frame numbers give the times
    (sample / "meta.json").write_text(json.dumps({"frames": frames}))
    assert read_camera_path(sample).times.tolist() == pytest.approx([0.0, 0.5, 1.0])
    frames[2]["source_index"] = 10**400  # nor a frame number: no times
    (sample / "meta.json").write_text(json.dumps({"frames": frames}))
    path = read_camera_path(sample)
    assert len(path.c2w) == 3 and path.times is None


@pytest.mark.parametrize("beside", [False, True])
def test_a_synthetic_meta_whose_scene_depth_is_past_a_float_has_no_scene_depth(tmp_path, beside):
    """As a meta.json written before it had one; before, an OverflowError ('int too large to convert to float') for a
    scene_depth of 10**400, from the meta itself and from beside a transforms.json (of as many cameras: one)."""
    meta = {"c2w_opencv": [_RIGID + [[0, 0, 0, 1]]], "K_normalized": [[[1, 0, .5], [0, 1, .5], [0, 0, 1]]],
            "height": 8, "width": 8, "scene_depth": 10 ** 400}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    if beside:
        (tmp_path / "transforms.json").write_text(json.dumps(_TRANSFORMS))
    cam = read_camera_path(tmp_path)
    assert cam.source_format == ("transforms.json" if beside else "genxd synthetic clip meta")
    assert cam.scene_depth is None

