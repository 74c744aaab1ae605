"""genxd eval-camera on ground-truth renders: a small noise floor, a known perturbation recovered, failures
reported; genxd eval's camera modes."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from genxd.cameras import save_camera_json
from genxd.cameras.evaluate import EVAL_JSON, EVAL_PNG, evaluate_camera_accuracy, failure_line, find_scenes
from genxd.cli import app
from genxd.validation import GenXDWarning
from tests.helpers import blank_camera_scene

runner = CliRunner()
TURN_DEG = 6.0


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One static synthetic scene at the bundled model's output size (64 px, 8 frames): two scene folders
    with the same frames, one requesting the true cameras, one cameras turned by 0 ... 6 degrees."""
    from genxd.data.synthetic import make_clip
    from genxd.evaluation import _camera_scene

    torch.set_num_threads(1)
    clip = make_clip(7_000_021, "3d", 8, 64, 64, camera="spiral")
    root = tmp_path_factory.mktemp("generated")
    _camera_scene(root / "a_truth", clip.images.cpu(), clip.c2w, clip.K)
    turned = clip.c2w.double().clone()
    angles = np.linspace(0, TURN_DEG, 8)
    turned[:, :3, :3] = turned[:, :3, :3] @ torch.from_numpy(Rotation.from_euler("y", angles[:, None], degrees=True).as_matrix())
    _camera_scene(root / "b_turned", clip.images.cpu(), turned, clip.K)
    return root, angles


def test_noise_floor_and_a_known_perturbation(rendered, tmp_path):
    root, angles = rendered
    res = runner.invoke(app, ["eval-camera", str(root), "-o", str(tmp_path), "-q"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    # -q: only what was written, one path a line (no summary JSON, no "wrote" line)
    assert res.stdout.splitlines() == [str(tmp_path / EVAL_JSON), str(tmp_path / EVAL_PNG)] and res.stderr == ""
    report = json.loads((tmp_path / EVAL_JSON).read_text())
    assert (tmp_path / EVAL_PNG).is_file()
    truth, turned = report["scenes"]
    assert truth["status"] == turned["status"] == "ok" and truth["num_registered"] == 8
    # noise floor of SfM on 64 px renders: measured 0.26 degrees per frame, 1.1 % of the path
    assert truth["errors"]["mean_rot_err_deg"] < 0.8 and truth["errors"]["centre_err_rel"] < 0.04, truth["errors"]
    # the requested cameras are turned by 0 ... 6 degrees: the measured per-frame errors follow
    got = np.array(turned["errors"]["rot_err_deg"])
    assert np.abs(got - angles).max() < 1.0, (got, angles)
    assert turned["errors"]["RotErr"] == pytest.approx(angles.sum(), abs=3.0)
    assert report["summary"]["evaluated"] == 2 and report["summary"]["failed"] == 0


_blank_scene = blank_camera_scene  # a scene SfM cannot reconstruct (4 grey frames of 32 px; fails in about 2 s)


def test_failures_are_reported(tmp_path):
    scene = _blank_scene(tmp_path / "blank")
    res = runner.invoke(app, ["eval-camera", str(scene), "-q"])
    assert res.exit_code == 1 and "no scene could be reconstructed" in res.output
    # -q: the files written on stdout, only the error on stderr (the scene's warning is left out)
    assert res.stdout.splitlines() == [str(scene / EVAL_JSON), str(scene / EVAL_PNG)]
    assert res.stderr.splitlines() == ["genxd: error: no scene could be reconstructed (1 failed)"]
    report = json.loads((scene / EVAL_JSON).read_text())
    reason = report["scenes"][0]["reason"]
    assert report["summary"]["failed"] == 1 and "tracked points" in reason
    # from-video's advice names its own option (--max-frames); eval-camera has none, it reads every frame
    assert "--max-frames" not in reason and "a clip with" not in reason and "more or larger frames" in reason, reason
    res = runner.invoke(app, ["eval-camera", str(scene)])  # without -q: the summary, what was written, a warning
    assert res.exit_code == 2, res.output  # the outputs of the first run exist
    res = runner.invoke(app, ["eval-camera", str(scene), "--overwrite"])
    assert res.exit_code == 1 and json.loads(res.stdout)["failed"] == 1
    assert f"wrote {scene / EVAL_JSON} and {scene / EVAL_PNG}" in res.stderr
    # the scene named once: SfM's reason starts with its frame folder (was "scene: scene/frames: ...")
    warning = [line for line in res.stderr.splitlines() if line.startswith("genxd: warning: ")]
    assert warning == [f"genxd: warning: {reason}"] and reason.startswith(f"{scene / 'frames'}: ")
    assert "--max-frames" not in res.stderr
    with pytest.raises(ValueError, match="no scene folder"):
        find_scenes(tmp_path / "blank" / "frames")
    with pytest.raises(FileNotFoundError):
        evaluate_camera_accuracy(tmp_path / "nothing")


def test_a_failure_reason_that_names_no_path_in_its_scene_is_led_by_the_scene():
    assert failure_line("out/a", "fewer than 2 frames registered") == "out/a: fewer than 2 frames registered"
    assert failure_line("out/a", "out/a/frames: no frames") == "out/a/frames: no frames"
    assert failure_line("out/a", "out/ab/frames: x") == "out/a: out/ab/frames: x"  # another scene's path


def test_genxd_eval_reports_camera_accuracy():
    from genxd.evaluation import evaluate

    report = evaluate(None, num_scenes=1, steps=1, device="cpu", progress=False, modes=("camera-3d",))["camera-3d"]
    for key in ("generated", "ground_truth"):
        summary = report[key]
        assert summary["scenes"] == 1 and summary["evaluated"] + summary["failed"] == 1
    assert report["ground_truth"]["evaluated"] == 1  # SfM reconstructs the ground-truth renders
    assert report["ground_truth"]["mean_rot_err_deg"] < 1.0


def test_scene_folders_are_found_at_any_depth(tmp_path):
    # genxd generate writes OUT/<image name>/: folders of runs (outputs/run1/scene_a) are found too; a scene's
    # own sub-folders, hidden folders and links are not searched
    def scene(folder: Path) -> Path:
        (folder / "frames").mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "frames" / "000.png")
        save_camera_json(folder / "cameras.json", torch.eye(4)[None], torch.eye(3), 8, 8)
        return folder

    found = [scene(tmp_path / "scene_a"), scene(tmp_path / "run1" / "scene_a"), scene(tmp_path / "run2" / "x" / "s")]
    scene(tmp_path / "scene_a" / "frames" / "inner")  # inside a scene: not searched
    scene(tmp_path / ".cache" / "s")
    (tmp_path / "link").symlink_to(tmp_path / "run1", target_is_directory=True)
    assert find_scenes(tmp_path) == sorted(found)
    assert find_scenes(tmp_path / "run1" / "scene_a") == [tmp_path / "run1" / "scene_a"]


def test_existing_outputs_are_refused_before_any_work_and_kept(tmp_path, monkeypatch):
    """Running eval-camera twice replaced camera_eval.json without asking: now one error line, exit code 2, the old
    files byte-identical; --overwrite replaces them."""
    import genxd.cameras.from_video as from_video
    from genxd.cli.eval_camera import OUTPUT_NAMES

    assert OUTPUT_NAMES == (EVAL_JSON, EVAL_PNG)  # the early check's names
    scene = _blank_scene(tmp_path / "scene_b")
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / EVAL_JSON).write_bytes(b'{"old": 1}\n')
    args = ["eval-camera", str(scene), "--cameras", str(scene / "cameras.json"), "-o", str(report_dir)]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [f"genxd: error: {report_dir / EVAL_JSON} exists; pass --overwrite to replace it"]
    (report_dir / EVAL_PNG).write_bytes(b"old png")
    res = runner.invoke(app, [*args, "-q"])
    assert res.exit_code == 2 and res.stdout == "" and res.stderr.splitlines() == [
        f"genxd: error: {report_dir / EVAL_JSON} and {report_dir / EVAL_PNG} exist; pass --overwrite to replace them"]
    assert (report_dir / EVAL_JSON).read_bytes() == b'{"old": 1}\n' and (report_dir / EVAL_PNG).read_bytes() == b"old png"

    # from Python, also before SfM, worded for Python; the command line's wording under cli_style
    def no_sfm(*args, **kwargs):
        raise AssertionError("SfM ran although the outputs exist")

    monkeypatch.setattr(from_video, "recover_clip_cameras", no_sfm)
    with pytest.raises(FileExistsError, match="exist; pass overwrite=True to replace them") as info:
        evaluate_camera_accuracy(scene, out=report_dir)
    assert "--overwrite" not in str(info.value)
    from genxd.validation import cli_style

    with cli_style(), pytest.raises(FileExistsError, match="exist; pass --overwrite to replace them"):
        evaluate_camera_accuracy(scene, out=report_dir)
    with pytest.raises(FileNotFoundError, match="nothere.json: no such camera file"):  # also before the loop
        evaluate_camera_accuracy(scene, cameras=tmp_path / "nothere.json", out=tmp_path / "new")
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()

    res = runner.invoke(app, [*args, "-q", "--overwrite"])
    assert res.exit_code == 1, res.output  # the blank scene cannot be reconstructed; the report is written
    assert res.stdout.splitlines() == [str(report_dir / EVAL_JSON), str(report_dir / EVAL_PNG)]
    assert json.loads((report_dir / EVAL_JSON).read_text())["summary"]["failed"] == 1
    assert (report_dir / EVAL_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in report_dir.iterdir()) == [EVAL_PNG, EVAL_JSON]  # no temporaries left


def test_a_missing_camera_file_is_one_line(tmp_path):
    scene = _blank_scene(tmp_path / "scene_b")
    res = runner.invoke(app, ["eval-camera", str(scene), "--cameras", str(tmp_path / "nothere.json"), "-o",
                              str(tmp_path / "report")])
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [f"genxd: error: {tmp_path / 'nothere.json'}: no such camera file or folder"]
    assert not (tmp_path / "report").exists()


def test_a_camera_file_of_another_shape_is_fitted_to_the_frames_as_generate_fits_it(tmp_path):
    """A 64x32 camera (fx = fy = 40 px) for square frames: generate makes its frames from the centre square, so the
    known focal length is 40 / 32; before, fx / W (0.625) and fy / H (1.25) differed and SfM got no focal."""
    from genxd.cameras.evaluate import evaluate_scene

    scene = _blank_scene(tmp_path / "blank")
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    K = torch.tensor([[40 / 64, 0, 0.5], [0, 40 / 32, 0.5], [0, 0, 1]])
    save_camera_json(tmp_path / "wide.json", c2w, K, 32, 64)
    result = evaluate_scene(scene, cameras=tmp_path / "wide.json")
    assert result["focal_fixed"] == pytest.approx(1.25)


def test_the_sfm_thread_count_is_an_option_and_recorded(tmp_path, monkeypatch):
    """Another SfM thread count can give other cameras on poorly constrained scenes (a ground-truth sway scene read
    RotErr 80.7 degrees on 1 thread, 59.2 on 2), and eval-camera used every core without saying how many (found by
    the evaluation audit): one thread unless --threads says otherwise, recorded in camera_eval.json."""
    import genxd.cameras.from_video as from_video

    used = []
    real = from_video.recover_clip_cameras

    def recording(*args, num_threads, **kwargs):
        used.append(num_threads)
        return real(*args, num_threads=num_threads, **kwargs)

    monkeypatch.setattr(from_video, "recover_clip_cameras", recording)
    scene = _blank_scene(tmp_path / "blank")
    res = runner.invoke(app, ["eval-camera", str(scene), "-q"])
    assert res.exit_code == 1 and used == [1], res.output  # SfM fails on the blank scene: the report is written
    assert json.loads((scene / EVAL_JSON).read_text())["sfm_threads"] == 1
    res = runner.invoke(app, ["eval-camera", str(scene), "-q", "--threads", "2", "--overwrite"])
    assert res.exit_code == 1 and used == [1, 2], res.output
    assert json.loads((scene / EVAL_JSON).read_text())["sfm_threads"] == 2
    res = runner.invoke(app, ["eval-camera", str(scene), "--threads", "0"])
    assert res.exit_code == 2 and "--threads" in res.output


@pytest.mark.parametrize("kwargs, message", [
    (dict(features="x"), "features must be one of"),
    (dict(seed=-1), "seed must be an integer in 0.."),
    (dict(num_threads=0), "num_threads must be an integer other than 0"),
    (dict(num_threads=1.5), "num_threads must be an integer"),
    (dict(known_focal="x"), "known_focal must be True or False"),
    (dict(mask="no"), "mask must be True or False"),
])
def test_python_arguments_are_checked_first(tmp_path, kwargs, message):
    """evaluate_camera_accuracy(features="x") ran SfM and recorded "x"; seed=-1, num_threads=0 / 1.5 and
    known_focal="x" went on towards SfM: each is now refused first, naming the argument."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        evaluate_camera_accuracy(tmp_path, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_scene_whose_frames_and_cameras_differ_in_count_is_refused_before_any_sfm(tmp_path, monkeypatch):
    """A frame missing (or extra) in one scene of a folder was found after its SfM, and after the SfM of every scene
    before it (their minutes lost, nothing written); a scene SfM could not reconstruct was reported as that, the
    missing frame unsaid. Now one line naming the scene and its camera file, before the first SfM."""
    import genxd.cameras.from_video as from_video

    def no_sfm(*args, **kwargs):
        raise AssertionError("SfM ran although a scene's frames and cameras differ in count")

    monkeypatch.setattr(from_video, "recover_clip_cameras", no_sfm)
    _blank_scene(tmp_path / "root" / "a")
    short = _blank_scene(tmp_path / "root" / "b")
    (short / "frames" / "002.png").unlink()
    res = runner.invoke(app, ["eval-camera", str(tmp_path / "root"), "-q"])
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [f"genxd: error: {short}: 3 frames but 4 cameras in {short / 'cameras.json'}"]
    assert not (tmp_path / "root" / EVAL_JSON).exists()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(short / "frames" / "002.png")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(short / "frames" / "004.png")
    with pytest.raises(ValueError, match=r"/b: 5 frames but 4 cameras in .+/b/cameras\.json$"):
        evaluate_camera_accuracy(tmp_path / "root", progress=False)
    from genxd.cameras.evaluate import evaluate_scene

    with pytest.raises(ValueError, match=r"/b: 5 frames but 4 cameras in .+/b/cameras\.json$"):
        evaluate_scene(short)


def test_a_scene_whose_camera_file_cannot_be_read_is_refused_before_any_sfm(tmp_path, monkeypatch):
    import genxd.cameras.from_video as from_video

    def no_sfm(*args, **kwargs):
        raise AssertionError("SfM ran although a scene's camera file cannot be read")

    monkeypatch.setattr(from_video, "recover_clip_cameras", no_sfm)
    _blank_scene(tmp_path / "root" / "a")
    bad = _blank_scene(tmp_path / "root" / "b")
    (bad / "cameras.json").write_text((bad / "cameras.json").read_text().replace("1.0", "NaN", 1))
    res = runner.invoke(app, ["eval-camera", str(tmp_path / "root"), "-q"])
    assert res.exit_code == 2 and res.stdout == "" and len(res.stderr.splitlines()) == 1, res.output
    assert res.stderr.startswith(f"genxd: error: {bad / 'cameras.json'}") and "finite" in res.stderr


def test_an_output_folder_that_is_a_scenes_frame_folder_is_refused(tmp_path):
    """-o SCENE/frames wrote camera_errors.png among the frames: the next run (--overwrite) read it as a 5th frame of
    another size and reported the scene as one SfM could not reconstruct."""
    scene = _blank_scene(tmp_path / "scene")
    res = runner.invoke(app, ["eval-camera", str(scene), "-o", str(scene / "frames")])
    assert res.exit_code == 2 and res.stdout == "", res.output
    assert res.stderr.splitlines() == [f"genxd: error: {scene / 'frames'} is the frame folder of scene {scene}: "
                                       f"{EVAL_PNG} written there would be read as one of its frames; choose another "
                                       "output folder"]
    assert sorted(p.name for p in (scene / "frames").iterdir()) == [f"{i:03d}.png" for i in range(4)]


def test_a_folder_of_frames_alone_is_a_scene_with_the_cameras_given(tmp_path):
    """Another tool's output (frames/ without a camera file) with --cameras was refused: 'no scene folder with
    frames ... and a camera file', though --cameras is the camera file (docs/camera_paths_from_video.md)."""
    scene = _blank_scene(tmp_path / "other_tool")
    (scene / "cameras.json").rename(tmp_path / "requested.json")
    res = runner.invoke(app, ["eval-camera", str(scene), "--cameras", str(tmp_path / "requested.json"), "-o",
                              str(tmp_path / "report"), "-q"])
    assert res.exit_code == 1, res.output  # the blank scene cannot be reconstructed; the report is written
    report = json.loads((tmp_path / "report" / EVAL_JSON).read_text())
    assert [(s["scene"], s["cameras"]) for s in report["scenes"]] == [(str(scene), str(tmp_path / "requested.json"))]
    res = runner.invoke(app, ["eval-camera", str(scene), "-o", str(tmp_path / "report2")])
    assert res.exit_code == 2 and "no scene folder with frames" in res.output  # without --cameras: as before


def test_scenes_of_one_name_in_other_runs_are_each_a_line_of_the_plot(monkeypatch):
    """outputs/run1/scene_a and outputs/run2/scene_a were both labelled scene_a: the second's line replaced the
    first's in camera_errors.png, in silence."""
    import genxd.utils.plot as plot
    from genxd.cameras.evaluate import draw_error_curves

    drawn = []
    monkeypatch.setattr(plot, "line_chart", lambda panels, title="": drawn.append(panels))

    def result(scene: str) -> dict:
        return {"scene": scene, "status": "ok", "registered": [0, 1],
                "errors": {"rot_err_deg": [0.0, 1.0], "centre_err": [0.0, 0.5]}}

    draw_error_curves([result("/o/run1/scene_a"), result("/o/run2/scene_a"), result("/o/run2/scene_b")])
    assert [list(panel["series"]) for panel in drawn[0]] == [["run1/scene_a", "run2/scene_a", "run2/scene_b"]] * 2
    draw_error_curves([result("/o/run1/scene_a"), result("/o/run2/scene_b")])
    assert [list(panel["series"]) for panel in drawn[1]] == [["scene_a", "scene_b"]] * 2  # distinct: names alone


def test_a_transforms_json_listing_the_frames_out_of_order_pairs_each_camera_with_its_frame(tmp_path):
    """The cameras were paired with the frames by position: a transforms.json listing its frames in another order than
    their names (colmap2nerf lists them in COLMAP's image order) scored each frame against another frame's camera,
    in silence (the ground-truth renders of a spiral read 6.1 degrees a frame, listed backwards; 0.5 in order). Now
    the listed file_path of each frame picks its camera."""
    import json as json_module

    from genxd.cameras.evaluate import evaluate_scene
    from genxd.data.synthetic import make_clip, write_clip

    torch.set_num_threads(1)
    write_clip(make_clip(7_000_021, "3d", 8, 64, 64, camera="spiral"), tmp_path, "scene", "folder")
    scene = tmp_path / "scene"
    meta = json_module.loads((scene / "transforms.json").read_text())
    meta["frames"] = meta["frames"][::-1]
    (scene / "transforms.json").write_text(json_module.dumps(meta))
    result = evaluate_scene(scene, num_threads=1)
    assert result["status"] == "ok" and result["num_registered"] == 8, result
    assert result["errors"]["mean_rot_err_deg"] < 0.8 and result["errors"]["centre_err_rel"] < 0.04, result["errors"]


def test_a_folder_with_cameras_but_no_frames_is_named_in_a_warning(tmp_path, monkeypatch):
    """A scene whose frames are missing (a generation stopped before writing them, frames under another folder name)
    was left out of a folder's evaluation in silence: the summary counted one scene fewer."""
    import genxd.cameras.from_video as from_video

    _blank_scene(tmp_path / "root" / "a")
    stopped = _blank_scene(tmp_path / "root" / "b")
    (stopped / "frames").rename(stopped / "renders")
    with pytest.warns(GenXDWarning, match=rf"^1 folder with a camera file but no frames \(frames/, images/, rgb/ or "
                                          rf"video\.mp4\) left out: {re.escape(str(stopped))}$"):
        assert find_scenes(tmp_path / "root") == [tmp_path / "root" / "a"]
    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    res = runner.invoke(app, ["eval-camera", str(tmp_path / "root")])  # -q says errors only
    assert "genxd: warning: 1 folder with a camera file but no frames" in res.stderr, res.output
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        find_scenes(tmp_path / "root" / "a")  # a scene alone: nothing to say


def test_a_folder_with_frames_but_no_camera_file_is_named_in_a_warning(tmp_path):
    """A scene whose camera file is missing (deleted, renamed, another tool's output without one) was left out of a
    folder's evaluation in silence, as one without frames was: the summary counted one scene fewer."""
    _blank_scene(tmp_path / "root" / "a")
    for name in ("b", "c"):
        (_blank_scene(tmp_path / "root" / name) / "cameras.json").unlink()
    listed = f"{tmp_path / 'root' / 'b'}, {tmp_path / 'root' / 'c'}"
    with pytest.warns(GenXDWarning, match=rf"^2 folders with frames but no camera file \(cameras\.json or "
                                          rf"transforms\.json\) left out: {re.escape(listed)}$"):
        assert find_scenes(tmp_path / "root") == [tmp_path / "root" / "a"]


def test_a_scene_whose_recovered_cameras_are_not_finite_fails_alone(tmp_path, monkeypatch):
    """Cameras with NaN from SfM in one scene of a folder stopped the whole run after every scene's SfM, with
    compare_paths' line naming no scene and no report written. Now that scene fails with the reason, the others
    are scored, and the report is written."""
    from types import SimpleNamespace

    import genxd.cameras.from_video as from_video

    def recovered(frames, **kwargs):
        c2w = torch.eye(4, dtype=torch.float64).repeat(4, 1, 1)
        c2w[:, 0, 3] = torch.arange(4.0) * 2  # the requested path, at another scale
        if Path(frames).parent.name == "b":
            c2w[2, 1, 3] = float("nan")
        return SimpleNamespace(c2w=c2w, frame_indices=[0, 1, 2, 3], num_clip_frames=4, method="sfm", report={})

    monkeypatch.setattr(from_video, "recover_clip_cameras", recovered)
    good, bad = _blank_scene(tmp_path / "root" / "a"), _blank_scene(tmp_path / "root" / "b")
    res = runner.invoke(app, ["eval-camera", str(tmp_path / "root")])
    assert res.exit_code == 0, res.output
    reason = "structure from motion gave cameras with NaN or infinite values"
    assert res.stderr.splitlines()[-1] == f"genxd: warning: {bad}: {reason}", res.stderr
    report = json.loads((tmp_path / "root" / EVAL_JSON).read_text())
    assert [(s["scene"], s["status"]) for s in report["scenes"]] == [(str(good), "ok"), (str(bad), "failed")]
    assert report["scenes"][0]["errors"]["RotErr"] == pytest.approx(0, abs=1e-9)
    assert report["summary"]["failures"] == {str(bad): reason} and report["summary"]["evaluated"] == 1


def test_a_loop_of_symbolic_links_is_named_as_one(tmp_path):
    """GENERATED or --cameras given as a link to itself (or links in a loop) read 'no such folder' / 'no such camera
    file or folder', though the link is there: the loop is now named."""
    scene = _blank_scene(tmp_path / "scene")
    (tmp_path / "gen").symlink_to("gen")
    (tmp_path / "a.json").symlink_to("b.json")
    (tmp_path / "b.json").symlink_to("a.json")
    res = runner.invoke(app, ["eval-camera", str(tmp_path / "gen")])
    assert res.exit_code == 2 and res.stderr.splitlines() == [
        f"genxd: error: {tmp_path / 'gen'}: no such folder (a loop of symbolic links: gen -> gen)"], res.output
    res = runner.invoke(app, ["eval-camera", str(scene), "--cameras", str(tmp_path / "a.json")])
    assert res.exit_code == 2 and res.stderr.splitlines() == [
        f"genxd: error: {tmp_path / 'a.json'}: no such camera file or folder (a loop of symbolic links: a.json -> "
        "b.json -> a.json)"], res.output
    with pytest.raises(FileNotFoundError, match=r"/gen: no such folder \(a loop of symbolic links: gen -> gen\)$"):
        evaluate_camera_accuracy(tmp_path / "gen", progress=False)
    with pytest.raises(FileNotFoundError, match=r"a\.json: no such camera file or folder \(a loop of symbolic links"):
        evaluate_camera_accuracy(scene, cameras=tmp_path / "a.json", progress=False)
    assert not (scene / EVAL_JSON).exists()


def test_a_frame_folder_given_as_generated_is_told_to_give_its_scene(tmp_path):
    """`genxd eval-camera out/scene/frames` (the frames themselves) said only that no scene folder was found under
    it; now the line says the folder holds frames itself, and what to give instead."""
    scene = _blank_scene(tmp_path / "scene")
    needs = ("no scene folder with frames (frames/, images/, rgb/ or video.mp4) and a camera file (cameras.json or "
             "transforms.json)")
    for more in ([], ["--cameras", str(scene / "cameras.json")]):
        res = runner.invoke(app, ["eval-camera", str(scene / "frames"), *more])
        assert res.exit_code == 2 and res.stderr.splitlines() == [
            f"genxd: error: {scene / 'frames'}: {needs}; it holds frames itself: give the scene folder above it, "
            f"{scene}"], res.output
    (scene / "frames").rename(scene / "renders")
    with pytest.raises(ValueError, match=re.escape(f"{needs}; it holds frames itself: a scene's frames are read from "
                                                   "its frames/, images/ or rgb/ folder (or its video.mp4)")):
        find_scenes(scene / "renders")
    (scene / "empty").mkdir()
    with pytest.raises(ValueError, match=re.escape(needs) + "$"):
        find_scenes(scene / "empty")


def test_a_listing_whose_frames_were_partly_renamed_is_named_in_a_warning(tmp_path, monkeypatch):
    """A transforms.json naming its frames in another order than theirs pairs each camera with the file it names;
    when some of the named files were renamed (the count still right), the cameras were paired by position in
    silence, though the listing says otherwise for the frames it still finds."""
    import genxd.cameras.from_video as from_video
    from genxd.cameras import save_transforms_json
    from genxd.cameras.evaluate import evaluate_scene

    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    scene = _blank_scene(tmp_path / "scene")
    (scene / "cameras.json").unlink()
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    save_transforms_json(scene / "transforms.json", c2w.flip(0), torch.eye(3), 32, 32,
                         file_paths=[f"frames/{i:03d}.png" for i in (3, 2, 1, 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate_scene(scene)["status"] == "failed"  # all listed files there: paired as listed, nothing said
    (scene / "frames" / "001.png").rename(scene / "frames" / "001_b.png")
    with pytest.warns(GenXDWarning, match=rf"^{re.escape(str(scene / 'transforms.json'))}: 1 of the 4 frames it "
                                          rf"lists is not in {re.escape(str(scene / 'frames'))} \(frames/001\.png\): "
                                          r"its cameras are paired with the frames by position$"):
        evaluate_scene(scene)


def test_a_listing_partly_of_another_folders_files_is_named_in_a_warning(tmp_path, monkeypatch):
    """A transforms.json naming some of the frame folder's files and some of another folder's (all there, the count
    right): the cameras were paired with the frames by position in silence, as for a listing of another folder's
    files only (a camera file from elsewhere, still said nothing of); now one warning, as for frames renamed."""
    import shutil

    import genxd.cameras.from_video as from_video
    from genxd.cameras import save_transforms_json
    from genxd.cameras.evaluate import evaluate_scene

    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    scene = _blank_scene(tmp_path / "scene")
    (scene / "cameras.json").unlink()
    shutil.copytree(scene / "frames", scene / "source")
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    listing = scene / "transforms.json"
    save_transforms_json(listing, c2w, torch.eye(3), 32, 32,
                         file_paths=["frames/000.png", "frames/001.png", "source/002.png", "source/003.png"])
    line = (f"{listing}: 2 of the 4 frames it lists are not in {scene / 'frames'} (source/002.png, ...): its cameras "
            "are paired with the frames by position")
    with pytest.warns(GenXDWarning, match=f"^{re.escape(line)}$"):
        evaluate_scene(scene)
    res = runner.invoke(app, ["eval-camera", str(scene)])
    assert f"genxd: warning: {line}\n" in res.stderr and res.stderr.count(str(listing)) == 1, res.stderr
    save_transforms_json(listing, c2w, torch.eye(3), 32, 32, file_paths=[f"source/{i:03d}.png" for i in range(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate_scene(scene)["status"] == "failed"  # another folder's files only: by position, nothing said


def test_links_to_scene_folders_are_scenes_each_once(tmp_path):
    """A folder of links to the scenes to compare (cmp/a -> ../run1/scene_a) was 'no scene folder' (links were
    left out in silence). A link that is itself a scene folder is now evaluated as one, each scene once (a real
    folder before a link to it); links to other folders are still not searched (a loop, a scene found twice)."""
    elsewhere = tmp_path / "elsewhere"
    _blank_scene(elsewhere / "scene_x")
    _blank_scene(elsewhere / "run" / "scene_y")
    root = tmp_path / "root"
    real = _blank_scene(root / "a")
    (root / "b").symlink_to(elsewhere / "scene_x", target_is_directory=True)
    (root / "b2").symlink_to(elsewhere / "scene_x", target_is_directory=True)  # the same scene again
    (root / "c").symlink_to(real, target_is_directory=True)  # a scene found as a folder
    (root / "d").symlink_to(elsewhere / "run", target_is_directory=True)  # not a scene: not searched
    (root / "loop").symlink_to(root / "loop")
    assert find_scenes(root) == [real, root / "b"]
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "x").symlink_to(elsewhere / "scene_x", target_is_directory=True)
    assert find_scenes(tmp_path / "links") == [tmp_path / "links" / "x"]


def test_a_scene_without_its_camera_file_is_told_to_give_one(tmp_path):
    """`genxd eval-camera out/scene` whose cameras.json is missing said only 'no scene folder with frames ... and a
    camera file'; now the line says the folder has frames but no camera file, and how to give one."""
    scene = _blank_scene(tmp_path / "scene")
    (scene / "cameras.json").unlink()
    res = runner.invoke(app, ["eval-camera", str(scene)])
    assert res.exit_code == 2 and res.stderr.splitlines() == [
        f"genxd: error: {scene}: no scene folder with frames (frames/, images/, rgb/ or video.mp4) and a camera file "
        "(cameras.json or transforms.json); it has frames (frames/) but no camera file: give one with --cameras"], \
        res.output
    with pytest.raises(ValueError, match=r"it has frames \(frames/\) but no camera file: give one with cameras$"):
        find_scenes(scene)
