"""genxd.camera_arguments: the warnings for a 3d generation from a camera that does not move, and for a 4d / video
generation along a path whose frame times are not evenly spaced."""

from __future__ import annotations

import json
import shlex
import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genxd
import genxd.api
from genxd.cameras import c2w_to_w2c, save_camera_json, trajectories
from genxd.cameras.colmap import write_colmap_model
from genxd.cli import app
from genxd.validation import GenXDWarning

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"


class _Stop(Exception):
    """Raised in place of loading the model: every warning of the settings has been given by then."""


@pytest.fixture
def no_model(monkeypatch):
    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(genxd.api, "load_model", stop)


def _python_warnings(tmp_path, **kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(_Stop):
            genxd.generate(EXAMPLE, tmp_path / "out", progress=False, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def _cli_warnings(tmp_path, *args) -> list[str]:
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"),
                                   *map(str, args)])
    assert isinstance(res.exception, _Stop), res.output
    return [line for line in res.output.splitlines() if line.startswith("genxd: warning:")]


def test_static_camera_in_3d_mode_is_one_warning_worded_for_the_command_line(tmp_path, no_model):
    lines = _cli_warnings(tmp_path, "--mode", "3d", "--camera", "static")
    still = [line for line in lines if "share one pose" in line]
    assert len(still) == 1, lines
    assert still[0].startswith("genxd: warning: --camera static: all 8 cameras share one pose, so --mode 3d ")
    assert "--camera orbit" in still[0] and "--mode 4d" in still[0]


def test_static_camera_in_3d_mode_warns_from_python_in_its_terms(tmp_path, no_model):
    got = [w for w in _python_warnings(tmp_path, mode="3d", camera="static") if "share one pose" in w]
    assert len(got) == 1 and got[0].startswith("camera='static': all 8 cameras share one pose, so mode='3d' "), got
    assert "--" not in got[0]


def test_a_camera_file_of_one_pose_repeated_warns_naming_it(tmp_path, no_model):
    c2w = torch.eye(4).expand(8, 4, 4).clone()
    c2w[:, :3, 3] = torch.tensor([0.3, -0.2, 1.5])  # not the identity: one pose all the same
    K = trajectories.static(8)[1]
    path = tmp_path / "still.json"
    save_camera_json(path, c2w, K, 64, 64)
    got = [w for w in _python_warnings(tmp_path, mode="3d", camera=path) if "share one pose" in w]
    assert len(got) == 1 and got[0].startswith(f"the camera path of {path}: all 8 cameras share one pose"), got


@pytest.mark.parametrize("kwargs", [dict(mode="3d", camera="orbit"), dict(mode="3d", camera="dolly"),
                                    dict(mode="4d", camera="static", motion_strength=8)])
def test_no_warning_for_a_moving_camera_or_a_still_one_outside_3d_mode(tmp_path, no_model, kwargs):
    assert not [w for w in _python_warnings(tmp_path, **kwargs) if "share one pose" in w]


def _timed_path(tmp_path, times: list[float]) -> Path:
    c2w, K = trajectories.spiral(num_frames=len(times))
    path = tmp_path / "timed.json"
    save_camera_json(path, c2w, K, 64, 64, times=torch.tensor(times))
    return path


def test_a_camera_file_with_uneven_times_in_4d_mode_is_warned_about(tmp_path, no_model):
    """A path written by genxd trajectory from-video with its default --spacing arc carries the clip's uneven times;
    given to generate --mode 4d, the model (which is given no times) made its frames evenly spaced in time while
    transforms.json recorded the file's times, without a word (the 4D creator audit). Now one warning."""
    path = _timed_path(tmp_path, [0.0, 0.1, 0.2, 0.5, 0.8, 1.0])
    lines = [line for line in _cli_warnings(tmp_path, "--mode", "4d", "--camera", path) if "evenly spaced" in line]
    assert lines == [f"genxd: warning: the camera path of {path}: its frame times are not evenly spaced (steps of 0.1 "
                     "to 0.3), but the model makes its frames evenly spaced in time, so the objects move at an even "
                     "pace while the camera keeps the path's, and transforms.json records the path's times; to follow "
                     "it at an even pace, resample it evenly in time and give that as --camera: genxd trajectory "
                     f"from-video {path} -o PATH.json -n 6 --spacing time"]


def test_the_uneven_times_advice_is_a_command_that_evens_them(tmp_path, no_model):
    """The advice was 'for a path from genxd trajectory from-video, write it with --spacing time', which says nothing
    for a camera file of another source: a genxd curate sample of a variable-frame-rate clip (--camera OUT/VIDEO_ID,
    its meta.json's times), a transforms.json with times. It is now a command for the file given, which run as given
    writes a path that generate takes without the warning."""
    path = _timed_path(tmp_path, [0.0, 0.1, 0.2, 0.5, 0.8, 1.0])
    line = next(line for line in _cli_warnings(tmp_path, "--mode", "4d", "--camera", path) if "evenly spaced" in line)
    command = shlex.split(line.split("--camera: ", 1)[1])
    assert command[0] == "genxd"
    even = tmp_path / "even.json"
    res = CliRunner().invoke(app, [str(even) if a == "PATH.json" else a for a in command[1:]])
    assert res.exit_code == 0, res.output
    assert not [w for w in _cli_warnings(tmp_path, "--mode", "4d", "--camera", even) if "evenly spaced" in w]


def _run_python_advice(warning: str, out: Path) -> None:
    """Run the call a Python-worded warning ends with (``...: genxd.cameras.from_video.write_video_path(...), then
    camera='PATH.json'``), writing to ``out``."""
    call, then = warning.rsplit(": genxd.cameras.from_video.", 1)[1].rsplit(", then ", 1)
    assert then == "camera='PATH.json'", warning
    import genxd.cameras.from_video as from_video

    exec("from_video." + call.replace("'PATH.json'", repr(str(out))), {"from_video": from_video})


def test_the_python_warnings_advise_a_python_call_that_fixes_the_file(tmp_path, no_model):
    """genxd.generate's warnings for a camera file of uneven times (4d) and for one far from the model's scale gave a
    Python caller shell advice ('give that as camera: genxd trajectory from-video FILE -o PATH.json ... --spacing
    time' / '--path-scale 1'). From Python they now end with the call that writes the file
    (genxd.cameras.from_video.write_video_path, which the command runs) and camera='PATH.json'; run as given, it
    writes a path that generate takes without the warning. The command line keeps the command (tests above)."""
    timed = _timed_path(tmp_path, [0.0, 0.1, 0.2, 0.5, 0.8, 1.0])
    uneven = [w for w in _python_warnings(tmp_path, mode="4d", camera=timed) if "evenly spaced" in w]
    assert len(uneven) == 1 and uneven[0].endswith(
        f"resample it evenly in time: genxd.cameras.from_video.write_video_path({str(timed)!r}, 'PATH.json', 6, "
        "spacing='time'), then camera='PATH.json'"), uneven
    far = _colmap_path(tmp_path, 30.0)
    scale = [w for w in _python_warnings(tmp_path, mode="4d", camera=far) if "own scale" in w]
    assert len(scale) == 1 and "write_video_path(" in scale[0] and "path_scale=" in scale[0], scale
    for warning, kind in ((uneven[0], "evenly spaced"), (scale[0], "own scale")):
        assert "--" not in warning and "genxd trajectory" not in warning, warning
        fixed = tmp_path / f"fixed_{kind.split()[-1]}.json"
        _run_python_advice(warning, fixed)
        assert not [w for w in _python_warnings(tmp_path, mode="4d", camera=fixed) if kind in w]


@pytest.mark.parametrize("mode, times", [("3d", [0.0, 0.1, 0.2, 0.5, 0.8, 1.0]),  # 3d: no time in the scene
                                         ("video", [0.0, 0.1, 0.2, 0.5, 0.8, 1.0]),  # no cameras: warned so
                                         ("4d", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])])
def test_no_warning_for_even_times_or_outside_4d_mode(tmp_path, no_model, mode, times):
    path = _timed_path(tmp_path, times)
    assert not [w for w in _python_warnings(tmp_path, mode=mode, camera=path) if "evenly spaced" in w]


def _colmap_path(tmp_path, depth: float) -> Path:
    """A COLMAP model (as in a genxd curate sample's 0/) of a spiral path about its scene, points at ``depth``."""
    from genxd.cameras.formats import write_colmap_model

    c2w, K = trajectories.spiral(num_frames=6)
    c2w[:, :3, 3] *= depth  # SfM's units: the whole scene at another scale
    rng = torch.Generator().manual_seed(0)
    points = torch.randn(200, 3, generator=rng) * 0.1 * depth + c2w[0, :3, 3] + c2w[0, :3, 2] * depth  # before camera 0
    model = tmp_path / f"sfm_{depth:g}" / "0"
    write_colmap_model(model, c2w, K, 64, 64, [f"{i:05d}.jpg" for i in range(6)], points_xyz=points)
    return model


def test_a_camera_file_far_from_the_models_scale_is_warned_about_with_the_command_that_rescales_it(tmp_path, no_model):
    """--camera SAMPLE (a genxd curate sample, any COLMAP model) was used in SfM's arbitrary units without a word: a
    curated clip's scene at depth 37 moved the cameras 37 times as far as the model (scene depth 1) learnt. Now one
    warning with the command that writes it at the model's scale; that file, and a model near it, say nothing."""
    far = _colmap_path(tmp_path, 30.0)
    lines = [w for w in _cli_warnings(tmp_path, "--mode", "4d", "--camera", far) if "own scale" in w]
    assert len(lines) == 1 and lines[0].startswith(f"genxd: warning: the camera path of {far}: its scene is at depth"), lines
    command = shlex.split(lines[0].split("--camera: ", 1)[1])
    assert command[0] == "genxd" and "--path-scale" in command
    scaled = tmp_path / "scaled.json"
    res = CliRunner().invoke(app, [str(scaled) if a == "PATH.json" else a for a in command[1:]])
    assert res.exit_code == 0, res.output
    assert not [w for w in _cli_warnings(tmp_path, "--mode", "4d", "--camera", scaled) if "own scale" in w]
    near = _colmap_path(tmp_path, 1.0)
    assert not [w for w in _cli_warnings(tmp_path, "--mode", "3d", "--camera", near) if "own scale" in w]


def test_no_scale_warning_in_video_mode_where_the_cameras_are_not_used(tmp_path, no_model):
    """--mode video gives the model no cameras (warned so): a file far from the model's scale moves nothing, and
    the advice to rescale it was beside the point."""
    far = _colmap_path(tmp_path, 30.0)
    lines = _cli_warnings(tmp_path, "--mode", "video", "--camera", far)
    assert [w for w in lines if "gives the model no cameras" in w], lines
    assert not [w for w in lines if "own scale" in w], lines


def test_a_path_object_named_like_a_preset_is_a_camera_file_not_the_preset(tmp_path, monkeypatch, no_model):
    """generate(camera=Path("orbit")): GenerateSettings turned the Path into the string "orbit", which
    camera_path_of takes for the preset, so a camera folder or file named orbit in the working folder was left
    for the orbit preset without a word (and a missing one too), while camera_trajectory(Path("orbit")) read the
    file (found by mypy: GenerateSettings.camera was typed str | CameraPath, generate passes str | Path)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="orbit: camera file or folder not found"):
        genxd.generate(EXAMPLE, tmp_path / "out", camera=Path("orbit"), progress=False)
    write_colmap_model(tmp_path / "orbit", *trajectories.PRESETS["dolly"](num_frames=5), 64, 64,  # a COLMAP folder
                       [f"{i:05d}.png" for i in range(5)])
    used = []
    real = genxd.api.frame_cameras

    def recording(*args, **kwargs):
        used.append(real(*args, **kwargs))
        return used[-1]

    monkeypatch.setattr(genxd.api, "frame_cameras", recording)
    with pytest.raises(_Stop):
        genxd.generate(EXAMPLE, tmp_path / "out", camera=Path("orbit"), progress=False)
    assert used[0].from_file is not None and used[0].c2w.shape[0] == 5  # the file's 5 cameras, not the preset's
    used.clear()
    with pytest.raises(_Stop):  # the string is still the preset name
        genxd.generate(EXAMPLE, tmp_path / "out", camera="orbit", progress=False)
    assert used[0].from_file is None


@pytest.mark.parametrize("written", ["./orbit", "orbit/", "./orbit/"])
def test_a_string_written_as_a_path_to_a_folder_named_like_a_preset_is_that_folder(tmp_path, monkeypatch, no_model,
                                                                                    written):
    """genxd generate img --camera ./orbit (or camera="./orbit" from Python; "./orbit" is what meta.json records for
    camera=Path("orbit")) with a COLMAP folder orbit in the working folder: GenerateSettings.checked normalised the
    string through pathlib to "orbit", the preset's name, so the orbit preset was sampled without a word. A string
    written as a path keeps meaning the path; the bare name is still the preset, whatever the folder holds."""
    monkeypatch.chdir(tmp_path)
    write_colmap_model(tmp_path / "orbit", *trajectories.PRESETS["dolly"](num_frames=5), 64, 64,
                       [f"{i:05d}.png" for i in range(5)])
    used = []
    real = genxd.api.frame_cameras

    def recording(*args, **kwargs):
        used.append((args, real(*args, **kwargs)))
        return used[-1][1]

    monkeypatch.setattr(genxd.api, "frame_cameras", recording)
    for how in ("cli", "python"):
        used.clear()
        if how == "cli":
            res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"), "--camera", written])
            assert isinstance(res.exception, _Stop), res.output
        else:
            with pytest.raises(_Stop):
                genxd.generate(EXAMPLE, tmp_path / "out", camera=written, progress=False)
        cams = used[0][1]
        assert cams.from_file is not None and cams.c2w.shape[0] == 5, (how, written)  # the folder's 5 cameras
        assert genxd.api.camera_label(used[0][0][0]) not in trajectories.PRESETS, (how, written)  # meta.json
    used.clear()
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"), "--camera", "orbit"])
    assert isinstance(res.exception, _Stop), res.output
    assert used[0][1].from_file is None  # the bare name: the preset


def test_a_preset_name_beside_a_file_or_folder_of_that_name_warns_how_to_read_it(tmp_path, monkeypatch, no_model):
    """``genxd generate img --camera orbit`` with a folder ``orbit`` in the working folder takes the preset (the
    documented rule) without a word: a user who meant the folder got the orbit preset. One warning now names the
    folder and ``--camera ./orbit``; not for ``./orbit`` or a Path (the folder is read), nor where nothing is named
    so."""
    monkeypatch.chdir(tmp_path)
    write_colmap_model(tmp_path / "orbit", *trajectories.PRESETS["dolly"](num_frames=5), 64, 64,
                       [f"{i:05d}.png" for i in range(5)])
    save_camera_json(tmp_path / "dolly", *trajectories.PRESETS["dolly"](num_frames=5), 64, 64)  # a file, no suffix
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"), "--camera", "orbit"])
    assert isinstance(res.exception, _Stop), res.output
    assert ("genxd: warning: --camera orbit is the orbit preset; the folder orbit in the current folder is not read "
            "(--camera ./orbit reads it)") in " ".join(res.output.split()), res.output
    said = [w for w in _python_warnings(tmp_path, camera="dolly") if "preset; the" in w]
    assert said == ["camera='dolly' is the dolly preset; the file dolly in the current folder is not read "
                    "(camera='./dolly' reads it)"]
    for camera in ("./orbit", Path("orbit"), "spiral"):  # the folder read, or no file of that name: no such warning
        assert not [w for w in _python_warnings(tmp_path, camera=camera) if "preset; the" in w], camera


def test_a_presets_refusal_names_the_option_given_on_the_command_line(tmp_path, no_model):
    """``genxd generate img --camera orbit --elevation 90`` said "genxd: error: elevation must be strictly between
    -90 and 90 degrees" (the preset's Python name) where ``--frames`` was renamed; from Python it stays
    ``elevation``."""
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"), "--camera", "orbit",
                                   "--elevation", "90"])
    assert res.exit_code == 2, res.output
    assert "genxd: error: --elevation must be strictly between -90 and 90 degrees" in res.output, res.output
    with pytest.raises(ValueError, match="^elevation must be strictly between -90 and 90 degrees"):
        genxd.generate(EXAMPLE, tmp_path / "out", camera="orbit", elevation=-90, progress=False)


def test_a_camera_file_whose_frames_share_one_time_in_4d_mode_is_warned_about(tmp_path, no_model):
    """Every frame at one time: the model still moves the objects frame to frame while transforms.json keeps the one
    time, so a 4D reconstruction makes one instant of moving frames; the demo said so (this session), generate said
    nothing (the demo review). 3D mode keeps the objects still: no warning there."""
    path = _timed_path(tmp_path, [0.5] * 6)
    lines = [line for line in _cli_warnings(tmp_path, "--mode", "4d", "--camera", path) if "same time" in line]
    assert lines == [f"genxd: warning: the camera path of {path}: its frames all have the same time (0.5), but in 4D "
                     "the model moves the objects from frame to frame; transforms.json keeps that one time, so genxd "
                     "reconstruct --mode 4d makes a single instant of the moving frames; use --mode 3d for a still "
                     "scene along the path"]
    assert not [w for w in _python_warnings(tmp_path, mode="3d", camera=path) if "same time" in w]
    assert not [w for w in _python_warnings(tmp_path, mode="4d", camera=_timed_path(tmp_path, [0.0, 0.2, 0.4, 0.6,
                                                                                               0.8, 1.0]))
                if "same time" in w]


def test_a_camera_file_whose_times_run_backwards_in_4d_mode_is_warned_about(tmp_path, no_model):
    """Times 1 -> 0 evenly spaced passed as even: generate --mode 4d said nothing, and a 4D reconstruction reversed
    the order of time (the model moves the objects forward frame to frame). Now one warning, the run goes on; times
    read back rounded (1, 0.6667, 0.3333, 0) were uneven by the span's sign: even, as forward ones."""
    from genxd.camera_arguments import uneven_time_steps

    path = _timed_path(tmp_path, [1.0, 0.8, 0.6, 0.4, 0.2, 0.0])
    lines = _cli_warnings(tmp_path, "--mode", "4d", "--camera", path)
    assert [line for line in lines if "frame times" in line] == [
        f"genxd: warning: the camera path of {path}: its frame times run backwards (1 at the first frame to 0 at the "
        "last), but the model moves the objects forward from frame to frame; transforms.json records the path's times, "
        "so genxd reconstruct --mode 4d reverses the order of time; give the frames times that increase along the path "
        "for the objects to move forward in its time"]
    assert not [w for w in _python_warnings(tmp_path, mode="3d", camera=path) if "backwards" in w]
    assert uneven_time_steps(torch.tensor([1.0, 0.6667, 0.3333, 0.0])) is None
    assert uneven_time_steps(torch.tensor([0.0, 0.3333, 0.6667, 1.0])) is None
    assert uneven_time_steps(torch.tensor([1.0, 0.9, 0.3, 0.0])) == pytest.approx((-0.6, -0.1))


def test_a_focal_length_a_camera_file_does_not_take_is_warned_about(tmp_path, no_model):
    """``--focal 3 --camera cams.json`` (a file with its own intrinsics) generated with the file's focal length and
    recorded it in cameras.json, dropping --focal without a word (the generate review, session 59); only a file
    without intrinsics (a w2c list) takes it, and there it says nothing."""
    c2w, K = trajectories.orbit(num_frames=8)
    with_intrinsics = tmp_path / "cams.json"
    save_camera_json(with_intrinsics, c2w, K, 64, 64)
    lines = [w for w in _cli_warnings(tmp_path, "--camera", with_intrinsics, "--focal", "3") if "--focal" in w]
    assert lines == [f"genxd: warning: --focal 3 is not used: the camera path {with_intrinsics} sets the intrinsics "
                     "(it takes --focal only for a file without intrinsics, such as a w2c list)"]
    said = [w for w in _python_warnings(tmp_path, camera=with_intrinsics, focal=3.0) if "not used" in w]
    assert said == [f"focal 3 is not used: the camera path {with_intrinsics} sets the intrinsics (it takes focal only "
                    "for a file without intrinsics, such as a w2c list)"]
    poses_only = tmp_path / "w2c.json"
    poses_only.write_text(json.dumps([c2w_to_w2c(m)[:3].tolist() for m in c2w]))
    assert not [w for w in _python_warnings(tmp_path, camera=poses_only, focal=3.0) if "focal" in w]
    assert not [w for w in _python_warnings(tmp_path, camera=with_intrinsics) if "focal" in w]
