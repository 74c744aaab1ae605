"""``evaluate_scene`` (``genxd eval-recon``) checks where it writes before it renders: a scene folder on a read-only
disk (or not writable) was rendered and scored, then refused with an error naming a hidden temporary file
(``[Errno 30] Read-only file system: '.../.metrics.json.HOST-PID-XXXX.part.json'``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import genxd.reconstruction.scene_evaluation as scene_evaluation
from genxd.cli import app
from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import line_of_views


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory) -> Path:
    """A 2-step reconstruction of 4 views, every 2nd held out."""
    root = tmp_path_factory.mktemp("eval_output_checks")
    views = line_of_views(root / "in")
    reconstruct_scene(views, root / "out", ReconstructionConfig(iterations=2, seed=0, init="random", init_points=100),
                      resolution=16, holdout_every=2, video_frames=0, inria_model=False, progress=False,
                      use_lpips=False)
    return root / "out"


def _read_only(monkeypatch, folder: Path) -> None:
    """``folder`` as a read-only mount shows it to ``os.access`` (as root, permission bits do not: a mount is needed);
    the scene is never rendered."""
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: access(path, mode, **kw) and not (
        mode & os.W_OK and Path(path).resolve() == folder.resolve()))

    def rendered(*args, **kwargs):
        raise AssertionError("the scene was rendered before the output was found not writable")

    monkeypatch.setattr(scene_evaluation, "evaluate_views", rendered)


def test_a_read_only_scene_folder_is_said_before_the_rendering(reconstructed, monkeypatch, tmp_path) -> None:
    _read_only(monkeypatch, reconstructed)
    says = (f"metrics file {reconstructed / 'metrics.json'}: its folder {reconstructed} is not writable: read-only "
            "folder or no permission")
    with pytest.raises(PermissionError) as info:
        evaluate_scene(reconstructed, use_lpips=False)
    assert str(info.value) == says
    result = CliRunner().invoke(app, ["eval-recon", str(reconstructed), "--no-lpips"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"genxd: error: {says}"]
    # the metrics elsewhere, the renders in the scene folder: said too
    with pytest.raises(PermissionError, match=f"^{reconstructed / 'eval_renders'}: its folder {reconstructed} is not "
                                              "writable: read-only folder or no permission$"):
        evaluate_scene(reconstructed, use_lpips=False, save_renders=True, out_path=tmp_path / "metrics.json")
    assert not (tmp_path / "metrics.json").exists() and sorted(os.listdir(reconstructed)) == sorted(
        ["cameras.json", "cameras_3dgs.json", "reconstruction.json", "renders", "scene.ply"])


def test_a_metrics_file_that_is_a_folder_is_said_before_the_rendering(reconstructed, monkeypatch, tmp_path) -> None:
    (tmp_path / "m.json").mkdir()
    _read_only(monkeypatch, tmp_path / "elsewhere")  # nothing read-only: the renderer only
    with pytest.raises(IsADirectoryError, match=f"^metrics file {tmp_path / 'm.json'} is a folder; give a file name$"):
        evaluate_scene(reconstructed, use_lpips=False, out_path=tmp_path / "m.json", overwrite=True)
