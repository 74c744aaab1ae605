"""``genxd generate`` with every camera preset in every mode, and with every camera file genxd writes.

The bundled model is loaded once per module and handed to the command (``genxd.api.load_model`` is
patched), so each case costs one tiny sampling call (4 frames at 64 px, 1 step, no guidance: about 1 s
on one CPU core); ``test_generate_zoom_loads_the_bundled_model`` runs the command unpatched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import genxd.api
from genxd.cameras import intrinsics_from_focal, read_camera_path, relative_poses, trajectories
from genxd.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"
TINY = ["--frames", "4", "--steps", "1", "--guidance", "1", "--quiet"]
MODES = ("3d", "video", "4d")
BUNDLED_FOCAL = 1.1  # generation_config.json of the bundled model
# float64 -> JSON text -> float32 round trip of poses a few units large: ~1e-7; 1e-5 leaves room.
ATOL = 1e-5


def _run(args) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def bundled():
    from genxd.api import load_model

    lm = load_model(None, "cpu")
    lm.pipe.set_progress_bar_config(disable=True)
    return lm


@pytest.fixture
def shared_model(bundled, monkeypatch):
    monkeypatch.setattr(genxd.api, "load_model", lambda *args, **kwargs: bundled)
    return bundled


def _check_written_cameras(scene: Path, c2w: torch.Tensor, K: torch.Tensor) -> None:
    """cameras.json, transforms.json, cameras_rel.json and the folder itself read back to (c2w, K)."""
    for name in ("cameras.json", "transforms.json", "."):
        cam = read_camera_path(scene / name)
        torch.testing.assert_close(cam.c2w, c2w.float(), atol=ATOL, rtol=0)
        torch.testing.assert_close(cam.K, K.float(), atol=ATOL, rtol=0)
        assert (cam.height, cam.width) == (64, 64)
    rel = read_camera_path(scene / "cameras_rel.json")  # relative to the first (input) view, no intrinsics
    torch.testing.assert_close(rel.c2w, relative_poses(c2w.double(), c2w[0].double()).float(), atol=ATOL, rtol=0)
    assert not rel.intrinsics_known


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("preset", sorted(trajectories.PRESETS))
def test_every_preset_in_every_mode(tmp_path, shared_model, preset, mode):
    out = tmp_path / "out"
    extra = ["--motion-strength", "0.5"] if mode != "3d" else []
    res = _run(["generate", EXAMPLE, "--camera", preset, "--mode", mode, "-o", out, *TINY, *extra])
    assert res.exit_code == 0, res.output
    scene = out / "scene_a"
    assert len(list((scene / "frames").glob("*.png"))) == 4
    c2w, K = trajectories.PRESETS[preset](num_frames=4, focal=BUNDLED_FOCAL)
    # scaled to the bundled model's scene depth (generation_config.json scene_depth 1: presets x 0.5)
    assert shared_model.info.preset_scale == 0.5
    _check_written_cameras(scene, trajectories.scale_translations(c2w, 0.5), K)
    meta = json.loads((scene / "meta.json").read_text())
    assert meta["camera"] == preset and meta["mode"] == mode


@pytest.mark.parametrize("fmt", ("authors", "transforms", "colmap", "w2c"))
def test_every_trajectory_make_format_is_accepted_by_generate(tmp_path, shared_model, fmt):
    path = tmp_path / ("path" if fmt == "colmap" else "path.json")
    # a w2c list holds poses only: trajectory make refuses a zoom and a size for it
    preset, size = ("dolly", []) if fmt == "w2c" else ("zoom", ["--height", "64", "--width", "64"])
    made = _run(["trajectory", "make", preset, "--format", fmt, "--num-frames", "5", *size, "-o", path])
    assert made.exit_code == 0, made.output
    res = _run(["generate", EXAMPLE, "--camera", path, "-o", tmp_path / "out", *TINY])
    assert res.exit_code == 0, res.output
    c2w, K = trajectories.PRESETS[preset](num_frames=5)
    if fmt == "w2c":  # no intrinsics in the file: the model's focal length
        K = intrinsics_from_focal(BUNDLED_FOCAL).expand(5, 3, 3)
    _check_written_cameras(tmp_path / "out" / "scene_a", c2w, K)  # the file's own 5 frames (not --frames 4)


@pytest.mark.parametrize("fmt", ("authors", "transforms", "colmap"))
@pytest.mark.parametrize("fit", ("crop", "pad"))
def test_a_16_by_9_camera_path_is_fitted_to_the_square_output_as_the_image_is(tmp_path, shared_model, fmt, fit):
    """A 320x180 path (fx = fy in pixels, as every camera) gave generate its fx / W and fy / H as they stood,
    so the square output was stretched vertically by 16 / 9; ``trajectory make`` wrote fy = fx x H / W in pixels
    (non-square pixels) for other tools to stretch instead (found by the output interop audit, 2026-12-04)."""
    path = tmp_path / ("path" if fmt == "colmap" else "path.json")
    made = _run(["trajectory", "make", "orbit", "--format", fmt, "--num-frames", "4", "--height", "180",
                 "--width", "320", "--focal", "0.6", "-o", path])
    assert made.exit_code == 0, made.output
    cam = read_camera_path(path)
    fx_px, fy_px = cam.K[0, 0, 0] * 320, cam.K[0, 1, 1] * 180
    assert float(fx_px) == pytest.approx(192.0, abs=1e-3) and float(fy_px) == pytest.approx(192.0, abs=1e-3)
    res = _run(["generate", EXAMPLE, "--camera", path, "--fit", fit, "-o", tmp_path / "out", *TINY])
    assert res.exit_code == 0, res.output
    side = 180 if fit == "crop" else 320  # the centre 180x180 of each picture, or the picture padded to 320x320
    K = torch.tensor([[192.0 / side, 0, 0.5], [0, 192.0 / side, 0.5], [0, 0, 1]]).expand(4, 3, 3)
    _check_written_cameras(tmp_path / "out" / "scene_a", cam.c2w, K)


@pytest.mark.parametrize("frames", [None, "8"])
def test_a_camera_file_shorter_than_the_model_was_trained_on_is_named_not_frames(tmp_path, shared_model, frames):
    """A 4-camera file with the bundled model (trained on 8 frames) was warned as '--frames 4 is outside what the
    bundled model was trained on', with no --frames given, or after '--frames 8 is not used' (found by the creator
    audit: a camera path taken from a video with -n 4)."""
    path = tmp_path / "short.json"
    assert _run(["trajectory", "make", "pan", "--num-frames", "4", "--for-model", "bundled", "-o", path]).exit_code == 0
    extra = [] if frames is None else ["--frames", frames]
    res = _run(["generate", EXAMPLE, "--camera", path, "-o", tmp_path / "out", "--steps", "1", "--guidance", "1",
                *extra])
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.output.splitlines() if line.startswith("genxd: warning:")]
    assert f"genxd: warning: the camera path of {path} (4 cameras) is outside what the bundled model was trained on " \
        "(frame counts of 8); results may be poor" in warnings, warnings
    assert not any("--frames 4" in line for line in warnings), warnings
    assert len(warnings) == (1 if frames is None else 2), warnings  # and '--frames 8 is not used' when given


def test_frames_beside_a_camera_path_object_are_warned_unused_naming_the_object(tmp_path, shared_model):
    """genxd.generate(camera=CameraPath(...), num_frames=8) said 'the camera file <CameraPath of 4 cameras> has 4
    cameras': an object given in Python is no file."""
    path = tmp_path / "short.json"
    assert _run(["trajectory", "make", "pan", "--num-frames", "4", "--for-model", "bundled", "-o", path]).exit_code == 0
    with pytest.warns(UserWarning) as caught:
        genxd.generate(EXAMPLE, tmp_path / "out", camera=read_camera_path(path), num_frames=8, num_inference_steps=1,
                       guidance_scale=1.0, progress=False)
    messages = [str(w.message) for w in caught]
    assert "num_frames 8 is not used: the CameraPath given has 4 cameras" in messages, messages
    assert not any("camera file" in m for m in messages), messages


def test_generate_zoom_loads_the_bundled_model(tmp_path):
    """The original failure: `--camera zoom` stopped after sampling (per-frame intrinsics)."""
    res = _run(["generate", EXAMPLE, "--camera", "zoom", "-o", tmp_path / "out", *TINY])
    assert res.exit_code == 0, res.output
    obj = json.loads((tmp_path / "out" / "scene_a" / "cameras.json").read_text())
    assert len(obj["frame_intrinsics"]) == 4 and obj["fx"] == pytest.approx(BUNDLED_FOCAL * 64)


BAD = [
    ("null.json", "null", "JSON null"),
    ("number.json", "3", "the number 3"),
    ("frames.json", '{"frames": [1, 2]}', "frames[0]: expected an object"),
    ("width0.json", '{"fx": 1, "fy": 1, "cx": 0, "cy": 0, "height": 4, "width": 0, "cameras": '
     '[[[1,0,0,0],[0,1,0,0],[0,0,1,0]]]}', "'width': must be positive"),
    ("w0.json", '{"w": 0, "h": 4, "fl_x": 2, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
     "'w': must be positive"),
    ("angle.json", '{"w": 4, "h": 4, "camera_angle_x": 0, "frames": [{"transform_matrix": '
     '[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}', "camera_angle_x"),
    ("empty.json", "", "empty file"),
    ("broken.json", '{"cameras": [', "not valid JSON"),
    ("fx.json", '{"fx": "abc", "fy": 1, "cx": 0, "cy": 0, "height": 4, "width": 4, "cameras": '
     '[[[1,0,0,0],[0,1,0,0],[0,0,1,0]]]}', "'fx': expected a number"),
    ("ragged.json", '[[[1,0,0,0],[0,1,0,0],[0,0,1,0]], [[1,0,0,0],[0,1]]]', "matrices[1]"),
]


@pytest.mark.parametrize("name, content, says", BAD, ids=[b[0] for b in BAD])
def test_generate_bad_camera_file_one_line_exit_2_before_the_model_loads(tmp_path, monkeypatch, name, content, says):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the camera file was checked")

    monkeypatch.setattr(genxd.api, "load_model", no_model)
    path = tmp_path / name
    path.write_text(content)
    res = _run(["generate", EXAMPLE, "--camera", path, "-o", tmp_path / "out", *TINY])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and str(path) in errors[0] and says in errors[0], res.output
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory):
    """A short low-res synthetic clip (10 frames, 128 px, hand-held arc, static scene) as an mp4."""
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clip = make_clip(21, "3d", 10, 128, 128, camera="handheld")
    finally:
        torch.set_num_threads(threads)
    path = tmp_path_factory.mktemp("clip") / "walk.mp4"
    write_video(path, clip.images, fps=8.0, quality=9)
    return path, clip


@pytest.mark.parametrize("mode", ["3d", "4d"])
def test_generate_camera_from_video_end_to_end(tmp_path, shared_model, synthetic_clip, mode):
    from genxd.cameras.accuracy import compare_paths

    video, clip = synthetic_clip
    out = tmp_path / "out"
    res = _run(["generate", EXAMPLE, "--camera-from-video", video, "--mode", mode, "-o", out, *TINY])
    assert res.exit_code == 0, res.output
    assert "genxd: camera path from" not in res.output  # --quiet: no stage lines (they show without it)
    scene = out / "scene_a"
    for name in ("camera_path.png", "camera_from_video.json", "cameras.json", "transforms.json", "video.mp4"):
        assert (scene / name).is_file(), name
    cams = read_camera_path(scene / "cameras.json")
    assert len(cams) == 4 and cams.times is not None
    torch.testing.assert_close(cams.c2w[0], torch.eye(4), atol=1e-6, rtol=0)  # the input image's camera
    torch.testing.assert_close(cams.K, intrinsics_from_focal(BUNDLED_FOCAL).expand(4, 3, 3))  # the model's focal
    meta = json.loads((scene / "meta.json").read_text())
    assert meta["camera"] == f"from-video:{video}"
    report = json.loads((scene / "camera_from_video.json").read_text())
    assert report["spacing"] == ("arc" if mode == "3d" else "time") and report["normalization"] == "scene"
    if mode == "4d":  # clip times 0, 1/3, 2/3, 1 are clip frames 0, 3, 6, 9: the path has the clip's shape
        torch.testing.assert_close(cams.times, torch.linspace(0, 1, 4, dtype=torch.float64), atol=1e-6, rtol=0)
        e = compare_paths(cams.c2w, clip.c2w.double()[[0, 3, 6, 9]])
        # H.264 frames at 128 px, focal estimated by SfM: measured 0.65 degrees and 0.3 % of the path
        assert e.mean_rot_err_deg < 1.5 and e.centre_err_rel < 0.05, e


def test_generate_camera_from_video_bad_inputs(tmp_path, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(genxd.api, "load_model", no_model)
    res = _run(["generate", EXAMPLE, "--camera-from-video", tmp_path / "missing.mp4", "-o", tmp_path / "o", *TINY])
    assert res.exit_code == 2 and "missing.mp4" in res.output
    frames = tmp_path / "two_frames"
    frames.mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frames / f"{i}.png")
    res = _run(["generate", EXAMPLE, "--camera-from-video", frames, "-o", tmp_path / "o", *TINY])
    assert res.exit_code == 2 and "too few frames" in res.output
    res = _run(["generate", EXAMPLE, "--path-scale", "2", "-o", tmp_path / "o", *TINY])
    assert res.exit_code == 2 and "--camera-from-video" in res.output
    res = _run(["generate", EXAMPLE, "--camera-from-video", frames, "--path-scale", "0", "-o", tmp_path / "o", *TINY])
    assert res.exit_code == 2 and "--path-scale" in res.output


def test_generate_camera_from_video_prints_the_clips_warnings_worded_for_generate(tmp_path, shared_model, monkeypatch):
    """``trajectory from-video`` prints the warnings of recovering the clip's cameras; ``generate
    --camera-from-video`` ran the same recovery and kept them only in ``camera_from_video.json``, so the advice to
    give the clip's focal length never reached the user, and it named ``--clip-focal``, which ``generate`` has
    not. (The cameras are stood in for: the warning comes from SfM on a dolly clip, minutes of it.)"""
    import genxd.cameras.from_video as from_video
    from genxd.cameras.clip_cameras import ClipCameras
    from genxd.cameras.geometry import look_at

    eyes = torch.tensor([[0.0, 0.0, -0.2 * i] for i in range(6)], dtype=torch.float64)
    c2w = look_at(eyes, eyes + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64))

    def recovered(clip, advice, **kwargs) -> ClipCameras:  # the warning as recover_clip_cameras words it
        warning = ("SfM's first fit, with the focal length left free (fx/W = 2.03): the camera moves along its view "
                   "axis, where SfM cannot tell the focal length; the path is from a fit with an assumed fx/W = 1.0, "
                   f"turning 0.0 degrees in all{advice.focal}")
        return ClipCameras(c2w, intrinsics_from_focal(1.0).double().expand(6, 3, 3).clone(), 64, 64, list(range(6)),
                           6, torch.linspace(0, 1, 6, dtype=torch.float64), 4.0, "sfm", False, {"warnings": [warning]})

    monkeypatch.setattr(from_video, "recover_clip_cameras", recovered)
    clip = tmp_path / "walk.mp4"
    clip.write_bytes(b"not read: the recovery is stood in for")
    res = _run(["generate", EXAMPLE, "--camera-from-video", clip, "-o", tmp_path / "out", *TINY[:-1]])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("genxd: warning: SfM's first fit")]
    assert lines == ["genxd: warning: SfM's first fit, with the focal length left free (fx/W = 2.03): the camera moves "
                     "along its view axis, where SfM cannot tell the focal length; the path is from a fit with an "
                     "assumed fx/W = 1.0, turning 0.0 degrees in all (give the clip's focal length: genxd trajectory "
                     "from-video walk.mp4 -o path.json --clip-focal F, then --camera path.json)"], res.output


def test_generate_camera_from_video_says_what_the_path_is_made_of(tmp_path, shared_model, monkeypatch):
    """``trajectory from-video`` ends with a line on the path (cameras, clip frames used, method, scale, length,
    turn); ``generate --camera-from-video`` made the same path without a word, so whether the camera only turned, how
    it was scaled or how many clip frames were used was only in camera_from_video.json (found by the creator audit).
    (The cameras are stood in for, as above.)"""
    import genxd.cameras.from_video as from_video
    from genxd.cameras.clip_cameras import ClipCameras
    from genxd.cameras.geometry import look_at

    eyes = torch.tensor([[0.0, 0.0, 0.2 * i] for i in range(6)], dtype=torch.float64)  # a dolly in, 1 unit
    c2w = look_at(eyes, eyes + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64))
    cams = ClipCameras(c2w, intrinsics_from_focal(1.0).double().expand(6, 3, 3).clone(), 64, 64, list(range(6)), 9,
                       torch.linspace(0, 1, 6, dtype=torch.float64), 4.0, "sfm", False, {"warnings": []})
    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda clip, **kwargs: cams)
    clip = tmp_path / "walk.mp4"
    clip.write_bytes(b"not read: the recovery is stood in for")
    res = _run(["generate", EXAMPLE, "--camera-from-video", clip, "-o", tmp_path / "out", *TINY[:-1]])
    assert res.exit_code == 0, res.output
    # scene depth 4 becomes --path-scale 1: x 0.25, so the 1-unit dolly is 0.25 long
    assert ("genxd: camera path from walk.mp4: 4 cameras from 6 of 9 frames read (sfm); scale scene x 0.25; "
            "path length 0.25, turn 0.0 deg") in res.output.splitlines(), res.output
    quiet = _run(["generate", EXAMPLE, "--camera-from-video", clip, "-o", tmp_path / "quiet", *TINY])
    assert quiet.exit_code == 0 and "camera path from" not in quiet.output, quiet.output


def test_generate_takes_a_3dgs_viewer_cameras_json(tmp_path, shared_model):
    """The 3DGS viewer's ``cameras.json`` (3DGS's train.py, ``genxd reconstruct``'s ``3dgs/cameras.json``) as
    ``--camera``: before, 'matrices[0]: expected a 3x4 or 4x4 matrix (list of rows), got an object'."""
    from genxd.reconstruction.inria_model import viewer_cameras
    from genxd.reconstruction.views import Views

    c2w, K = trajectories.orbit(num_frames=5, focal=0.9)
    path = tmp_path / "cameras.json"
    path.write_text(json.dumps(viewer_cameras(Views(torch.zeros(5, 3, 64, 64), c2w, K, [f"{i}.png" for i in range(5)]))))
    res = _run(["generate", EXAMPLE, "--camera", path, "-o", tmp_path / "out", *TINY])
    assert res.exit_code == 0, res.output
    _check_written_cameras(tmp_path / "out" / "scene_a", c2w, K)  # the file's own 5 frames (not --frames 4)
