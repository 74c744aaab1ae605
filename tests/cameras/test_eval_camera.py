"""genxd eval-camera on ground-truth renders: a small noise floor, a known perturbation recovered, failures
reported; genxd eval's camera modes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from genxd.cameras import save_camera_json
from genxd.cameras.evaluate import EVAL_JSON, EVAL_PNG, evaluate_camera_accuracy, find_scenes
from genxd.cli import app

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


def test_failures_are_reported(tmp_path):
    scene = tmp_path / "blank"
    (scene / "frames").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(scene / "frames" / f"{i:03d}.png")
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    save_camera_json(scene / "cameras.json", c2w, torch.eye(3), 32, 32)
    res = runner.invoke(app, ["eval-camera", str(scene), "-q"])
    assert res.exit_code == 1 and "no scene could be reconstructed" in res.output
    report = json.loads((scene / EVAL_JSON).read_text())
    assert report["summary"]["failed"] == 1 and "tracked points" in report["scenes"][0]["reason"]
    with pytest.raises(ValueError, match="no scene folder"):
        find_scenes(tmp_path / "blank" / "frames")
    with pytest.raises(FileNotFoundError):
        evaluate_camera_accuracy(tmp_path / "nothing")


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
