"""The demo's camera paths from its form: presets, keyframes, camera files, paths taken from a video."""

from __future__ import annotations

import json

import pytest
import torch

from genxd.cameras import trajectories
from genxd.demo import cameras as cam


# ---------------------------------------------------------------------- camera paths
def test_preset_params_come_from_the_signatures():
    names = {p.name: p for p in cam.preset_params("orbit")}
    assert set(names) == {"elevation", "azimuth_range", "radius"} and names["azimuth_range"].kind == "range"
    pan = {p.name: p for p in cam.preset_params("pan")}
    assert pan["mode"].kind == "choice" and pan["mode"].choices == ("rotate", "translate")
    assert cam.preset_params("static") == []


def test_preset_path_matches_the_trajectory_function():
    c2w, K = cam.preset_path("orbit", 8, 1.1, {"elevation": 10, "azimuth_range": "0,90", "radius": 3})
    ref_c2w, ref_K = trajectories.orbit(num_frames=8, elevation=10.0, azimuth_range=(0.0, 90.0), radius=3.0, focal=1.1)
    torch.testing.assert_close(c2w, ref_c2w.float())
    torch.testing.assert_close(K, ref_K.float())
    with pytest.raises(ValueError, match="azimuth range"):
        cam.preset_path("orbit", 8, 1.1, {"azimuth_range": "0;90;1"})
    with pytest.raises(ValueError, match="pan mode"):
        cam.preset_path("pan", 8, 1.1, {"mode": "sideways"})
    with pytest.raises(ValueError, match=r"^forward mode needs Frames divisible by 4 "):
        cam.preset_path("forward", 6, 1.1, {})


def test_preset_refusals_name_the_frames_control_not_the_argument():
    """The presets' own refusals reached the page with their Python name: "num_frames must be an integer in
    4..100000, got 2" for the Frames slider at 2 with the forward preset."""
    with pytest.raises(ValueError, match=r"^Frames must be an integer in 4\.\.100000, got 2$"):
        cam.preset_path("forward", 2, 1.1, {})
    with pytest.raises(ValueError, match=r"^zoom factor 1e-09 takes the focal length 1 to 1e-09;"):  # words stay
        cam.preset_path("zoom", 8, 1.0, {"factor": 1e-9})


def test_a_spiral_focus_distance_of_0_is_named_as_the_page_names_it():
    """It was the preset's own line, with its Python names: "spiral: radius must be >= 0 and focus_distance > 0"."""
    with pytest.raises(ValueError, match=r"^focus distance must be a finite number in \(0, 10000\], got 0$"):
        cam.preset_path("spiral", 8, 1.1, {"focus_distance": 0})


def test_keyframes_pass_through_each_keyframe():
    rows = [[0, 0, 0, 0, 0, 0], [0.5, 0, 0, -20, 0, 0], ["", None, "", "", "", ""], [1, 0, 0.5, -40, 10, 0]]
    c2w, K = cam.keyframe_path(rows, 9, 1.2)
    assert c2w.shape == (9, 4, 4) and torch.allclose(K[:, 0, 0], torch.tensor(1.2))
    torch.testing.assert_close(c2w[0], torch.eye(4))
    torch.testing.assert_close(c2w[-1, :3, 3], torch.tensor([1.0, 0.0, 0.5]))
    # yaw -40: the last camera looks to its left (-x); pitch +10: and up (-y)
    fwd = c2w[-1, :3, 2]
    assert fwd[0] < -0.5 and fwd[1] < -0.1
    with pytest.raises(ValueError, match="keyframe 2: expected 6 numbers"):
        cam.keyframe_path([[0] * 6, [0, "a", 0, 0, 0, 0]], 8, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        cam.keyframe_path([[0] * 6], 8, 1.0)


def test_a_keyframe_row_with_a_seventh_number_is_refused():
    """A 7th number in a row (an API client's table) was silently dropped; a blank 7th cell (NaN, "") still is."""
    with pytest.raises(ValueError, match=r"^keyframe 2: expected 6 numbers \(x, y, z, yaw, pitch, roll\), "
                                         r"got \[0.5, 0, 0, -20, 0, 0, 3\]$"):
        cam.keyframe_path([[0] * 6, [0.5, 0, 0, -20, 0, 0, 3]], 8, 1.0)
    c2w, _ = cam.keyframe_path([[0] * 6 + [""], [0.5, 0, 0, -20, 0, 0, float("nan")]], 8, 1.0)
    torch.testing.assert_close(c2w[-1, :3, 3], torch.tensor([0.5, 0.0, 0.0]))


def test_camera_file_and_context_frames(tmp_path):
    from genxd.cameras.formats import save_camera_json

    c2w, K = trajectories.spiral(num_frames=6)
    save_camera_json(tmp_path / "path.json", c2w, K, 64, 64)
    got, _, _ = cam.file_path(tmp_path / "path.json", 8)  # the file's own frame count wins
    torch.testing.assert_close(got, c2w.float(), atol=1e-5, rtol=0)
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="other.json"):
        cam.file_path(tmp_path / "other.json", 8)
    assert cam.context_frames(1, 8) == [0]
    assert cam.context_frames(3, 8) == [0, 4, 7]
    with pytest.raises(ValueError, match="^8 input images need a path of at least 9 frames; this one has 8$"):
        cam.context_frames(8, 8)


def test_a_transforms_json_without_its_image_size_is_told_only_what_the_page_can_do(tmp_path):
    """A transforms.json without ``w`` / ``h`` (and without its images beside it: the page uploads the file alone)
    was refused with the Python caller's advice "... or pass height and width", which no control of the page
    takes; it is told to add the size to the file, as ``genxd generate --camera`` says."""
    frames = [{"file_path": f"images/{i}.png", "transform_matrix": torch.eye(4).tolist()} for i in range(3)]
    (tmp_path / "transforms.json").write_text(json.dumps({"fl_x": 100.0, "fl_y": 100.0, "frames": frames}))
    with pytest.raises(ValueError, match=r"^transforms\.json \(transforms\.json\): .*add the image size in pixels "
                                         r"to the file \(\"w\" and \"h\", top level or per frame\)$"):
        cam.file_path(tmp_path / "transforms.json", 8)


@pytest.mark.parametrize("content, why", [(b"", "empty file"), (b"\xff\xfe{", "not a text file")])
def test_an_unreadable_camera_file_is_told_the_json_files_the_page_takes(tmp_path, content, why):
    """An empty (or not UTF-8) camera file was told it should be "... a COLMAP model folder, a genxd curate /
    generate / synth output folder": the command line's list, of folders the page's Camera file control (one .json
    file) cannot take."""
    (tmp_path / "path.json").write_bytes(content)
    expected = (f"path.json: {why} (expected a camera file (an authors' camera JSON, a w2c list JSON, a "
                "transforms.json or a 3DGS cameras.json))")
    with pytest.raises(ValueError) as err:
        cam.file_path(tmp_path / "path.json", 8)
    assert str(err.value) == expected


def test_video_path_follows_the_clip_and_is_recovered_once_per_upload(monkeypatch, tmp_path):
    import genxd.cameras.from_video as fv
    from genxd.cameras.accuracy import compare_paths
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    torch.set_num_threads(1)
    clip = make_clip(11, "4d", 12, 128, 128, camera="handheld", motion_strength=0.5)
    video = tmp_path / "upload" / "walk.mp4"  # no camera file beside it: SfM on its frames
    video.parent.mkdir()
    write_video(video, clip.images, fps=8.0, quality=9)
    calls = []
    real = fv.recover_clip_cameras
    monkeypatch.setattr(fv, "recover_clip_cameras", lambda *a, **k: calls.append(a) or real(*a, **k))
    c2w, K, _ = cam.video_path(video, 12, 1.1, "4d")  # 12 cameras in time = the clip's 12 frames
    assert c2w.shape == (12, 4, 4) and K.shape == (12, 3, 3) and c2w.dtype == torch.float32
    torch.testing.assert_close(c2w[0], torch.eye(4), atol=1e-6, rtol=0)
    assert float(K[0, 0, 0]) == pytest.approx(1.1)
    e = compare_paths(c2w.double(), clip.c2w)
    # measured here 0.23 degrees mean and 0.9 % of the path (focal estimated, H.264, 128 px); the bounds of
    # tests/cameras/test_from_video.py (known focal there: 0.15 degrees, 0.6 %)
    assert e.mean_rot_err_deg < 0.6 and e.centre_err_sim3_rel < 0.03, e
    # the preview and the generation of the same upload, other frame counts and modes: no second SfM
    c2w8, _, _ = cam.video_path(video, 8, 1.1, "3d")
    assert c2w8.shape == (8, 4, 4) and len(calls) == 1
    with pytest.raises(FileNotFoundError, match="video not found: gone.mp4"):
        cam.video_path(tmp_path / "gone.mp4", 8, 1.1)


def test_a_file_the_video_control_cannot_use_is_refused_in_the_controls_words(tmp_path):
    """The refusal said "not a video file, a folder of frames or a camera file": the video control takes one file,
    a video; a folder of frames or a camera file is not what to give it."""
    from genxd.curation.frames import VIDEO_EXTENSIONS

    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError) as err:
        cam.video_cameras(tmp_path / "notes.txt")
    suffixes = ", ".join(sorted(VIDEO_EXTENSIONS))
    assert str(err.value) == f"notes.txt: not a video file (video suffixes: {suffixes})"


def test_a_camera_file_given_as_the_video_is_refused_naming_the_camera_file_control(monkeypatch, tmp_path):
    """The video control's recovery reads camera files too: an API client sending a camera path .json as the video
    got that file's cameras as the clip's, and a lone COLMAP cameras.txt a refusal naming the server's folder. Now one
    line before any recovery: a .json is sent to the Camera file control, another file is not a video."""
    import genxd.cameras.from_video as fv
    from genxd.cameras.formats import save_camera_json
    from genxd.curation.frames import VIDEO_EXTENSIONS
    from genxd.demo.camera_form import SOURCES

    calls = []
    monkeypatch.setattr(fv, "recover_clip_cameras", lambda *a, **k: calls.append(a))
    path = tmp_path / "upload" / "path.json"
    path.parent.mkdir()
    save_camera_json(path, *trajectories.spiral(num_frames=8), 64, 64)
    said = f"path.json: not a video file; a camera file (.json) goes in {SOURCES['file']}, not {SOURCES['video']}"
    assert said == "path.json: not a video file; a camera file (.json) goes in Camera file, not From a video"
    with pytest.raises(ValueError) as err:
        cam.video_cameras(path)
    assert str(err.value) == said
    with pytest.raises(ValueError) as err:
        cam.video_path(path, 8, 1.1, "4d")
    assert str(err.value) == said
    colmap = tmp_path / "upload" / "cameras.txt"
    colmap.write_text("# Camera list\n1 PINHOLE 64 64 50 50 32 32\n")
    with pytest.raises(ValueError) as err:
        cam.video_cameras(colmap)
    assert str(err.value) == f"cameras.txt: not a video file (video suffixes: {', '.join(sorted(VIDEO_EXTENSIONS))})"
    assert calls == []
