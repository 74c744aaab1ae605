"""A 3d reconstruction (``mode: 3d`` in its reconstruction.json) is scored as its static ``scene.ply``: a stray
``motion.npz`` beside it (copied in from a 4d output, say) whose Gaussian count happens to match was attached and
the scene scored with that motion."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import genxd.reconstruction.scene_evaluation as scene_evaluation
from genxd.reconstruction.gaussians import MotionBasis
from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.ply import MOTION_FORMAT, load_ply
from genxd.reconstruction.trainer import ReconstructionConfig
from genxd.validation import GenXDWarning

from .helpers import line_of_views


def _reconstructed(root: Path) -> Path:
    """A 2-step 3d reconstruction of 4 views, every 2nd held out."""
    views = line_of_views(root / "in")
    reconstruct_scene(views, root / "out", ReconstructionConfig(iterations=2, seed=0, init="random", init_points=100),
                      resolution=16, holdout_every=2, video_frames=0, inria_model=False, progress=False,
                      use_lpips=False)
    return root / "out"


def _stray_motion(scene_dir: Path) -> Path:
    """A valid motion file for ``scene_dir/scene.ply``'s Gaussians (one count), moving them all far away."""
    count = load_ply(scene_dir / "scene.ply").num_gaussians
    basis = MotionBasis(1, 0)
    path = scene_dir / "motion.npz"
    np.savez(path, format=np.array(MOTION_FORMAT), poly_degree=np.array(1), fourier_terms=np.array(0),
             coefficients=np.full((count, basis.num_functions, 3), 5.0, dtype=np.float32))
    return path


def _dynamic_models_scored(monkeypatch) -> list[bool]:
    """From now on, whether each model evaluate_scene scores is dynamic (moved by a motion file), in order."""
    scored: list[bool] = []
    evaluate_views = scene_evaluation.evaluate_views

    def capture(model, *args, **kwargs):
        scored.append(model.is_dynamic)
        return evaluate_views(model, *args, **kwargs)

    monkeypatch.setattr(scene_evaluation, "evaluate_views", capture)
    return scored


def test_a_3d_reconstruction_is_scored_without_a_stray_motion_file(tmp_path, monkeypatch) -> None:
    scene_dir = _reconstructed(tmp_path)
    assert json.loads((scene_dir / "reconstruction.json").read_text())["mode"] == "3d"
    clean = evaluate_scene(scene_dir, use_lpips=False, out_path=tmp_path / "clean.json")
    motion = _stray_motion(scene_dir)
    scored = _dynamic_models_scored(monkeypatch)
    with pytest.warns(GenXDWarning, match=rf"^{motion}: a motion file beside a 3d reconstruction \(mode 3d in its "
                                          r"reconstruction.json\): not used, the static scene.ply is scored$"):
        result = evaluate_scene(scene_dir, use_lpips=False, out_path=tmp_path / "stray.json")
    assert scored == [False]  # before: True, the Gaussians moved by motion.npz
    assert result["psnr"] == clean["psnr"]


def test_a_4d_record_still_reads_its_motion_file(tmp_path, monkeypatch) -> None:
    """The same folder recorded as 4d (its own motion.npz): the motion is used, without a warning."""
    scene_dir = _reconstructed(tmp_path)
    _stray_motion(scene_dir)
    record = json.loads((scene_dir / "reconstruction.json").read_text())
    (scene_dir / "reconstruction.json").write_text(json.dumps({**record, "mode": "4d"}))
    scored = _dynamic_models_scored(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        evaluate_scene(scene_dir, use_lpips=False)
    assert scored == [True]
