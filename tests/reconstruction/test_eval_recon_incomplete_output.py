"""``genxd eval-recon`` on a reconstruction folder copied without its ``cameras.json``: a ReconFusion reconstruction
is scored at the size it was trained at (``reconstruction.json``'s ``resolution``), and a held-out split of
``--holdout-every`` says the file is missing instead of "no held-out views: reconstruct with --holdout-every N"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import trajectories
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.reconstruction.pipeline import evaluate_scene

from .helpers import line_of_views


def test_a_reconfusion_reconstruction_without_cameras_json_is_scored_at_its_training_size(tmp_path) -> None:
    """Before: at the scene's stored 24x24 instead of the 12x12 reconstructed at (18.51 dB for 24.35 on a 32 px
    scene reconstructed at 16 px)."""
    images = torch.rand(8, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=8)
    write_reconfusion_scene(tmp_path / "rf", "scene_a", images, c2w, K, {3: ([1, 4, 6], [0, 5])})
    out = tmp_path / "recon"
    record = reconstruct_scene(tmp_path / "rf", out, ReconstructionConfig(iterations=2, init_points=200), resolution=12,
                               n_views=3, video_frames=0, progress=False, use_lpips=False)
    (out / "cameras.json").unlink()
    result = evaluate_scene(out, use_lpips=False)
    assert result["resolution"] == [12, 12] and result["input_resolution"] == [24, 24]
    assert result["psnr"] == pytest.approx(record["test_metrics"]["psnr"], abs=1e-4)
    tree = json.loads((out / "reconstruction.json").read_text())
    tree["resolution"] = [12, "12"]
    (out / "reconstruction.json").write_text(json.dumps(tree))
    with pytest.raises(ValueError, match=r"reconstruction.json: resolution\[1\]: expected a number, got the string"):
        evaluate_scene(out, use_lpips=False, overwrite=True)


def test_a_held_out_split_without_cameras_json_says_the_file_is_missing(tmp_path) -> None:
    views = line_of_views(tmp_path / "in")
    out = tmp_path / "recon"
    reconstruct_scene(views, out, ReconstructionConfig(iterations=2, init="random", init_points=100), resolution=16,
                      holdout_every=2, video_frames=0, inria_model=False, progress=False, use_lpips=False)
    shutil.move(out / "cameras.json", tmp_path / "cameras.json")
    says = f"{out}: no cameras.json, which records the views the reconstruction held out: copy it beside scene.ply"
    with pytest.raises(FileNotFoundError) as info:
        evaluate_scene(out, use_lpips=False)
    assert str(info.value) == says
    result = CliRunner().invoke(app, ["eval-recon", str(out), "--no-lpips"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"genxd: error: {says}"]


def _views(folder: Path, times: torch.Tensor, seed: int) -> Path:
    return line_of_views(folder, len(times), seed, times)


def test_a_4d_reconstruction_without_its_record_is_scored_at_the_recorded_times(tmp_path, monkeypatch) -> None:
    """Input times 0-5 and --extra-views times 5-10 share one axis: the input's views are at 0-0.5 (cameras.json).
    Without reconstruction.json the held-out views were rendered at the input's own times, mapped to 0-1 alone."""
    import genxd.reconstruction.scene_evaluation as scene_evaluation

    views = _views(tmp_path / "in", torch.linspace(0.0, 5.0, 4), 0)
    extra = _views(tmp_path / "extra", torch.linspace(5.0, 10.0, 4), 1)
    out = tmp_path / "recon"
    reconstruct_scene(views, out, ReconstructionConfig(iterations=2, mode="4d", init="random", init_points=100),
                      resolution=16, holdout_every=2, extra_views=extra, video_frames=0, progress=False,
                      use_lpips=False)
    recorded = json.loads((out / "cameras.json").read_text())
    expected = [recorded["times"][i] for i in recorded["test"]]
    assert expected == pytest.approx([0.0, 1 / 3])  # views 0, 2 at 0 and 10/3 of 0-10
    seen = []
    evaluate_views = scene_evaluation.evaluate_views

    def capture(model, test_views, *args, **kwargs):
        seen.append(test_views.times.tolist())
        return evaluate_views(model, test_views, *args, **kwargs)

    monkeypatch.setattr(scene_evaluation, "evaluate_views", capture)
    (out / "reconstruction.json").unlink()
    evaluate_scene(out, input_path=views, use_lpips=False)
    assert seen == [pytest.approx(expected)]  # before: [0, 2/3], the input's times mapped to 0-1 alone
    (out / "reconstruction.json").write_text(json.dumps({"mode": "5d"}))  # a mode this genxd does not know
    with pytest.raises(ValueError, match=r"reconstruction.json: mode: expected 3d or 4d, got the string '5d'$"):
        evaluate_scene(out, input_path=views, use_lpips=False, overwrite=True)
