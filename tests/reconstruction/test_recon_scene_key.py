"""``--scene-key`` where nothing uses it: a scene key names a ReconFusion folder's scene, a genxd fewshot output's
groups (``--extra-views``) or a scene subfolder of ``--masks``; on a plain views folder without those, reconstruct and
eval-recon ignored it without a word (``--n-views`` there was already refused)."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.pipeline import reconstruct_scene
from genxd.reconstruction.scene_evaluation import evaluate_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import write_views_folder


def _views(folder):
    n = 4
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0.0, 0.3, n)
    K = torch.tensor([[1.1, 0.0, 0.5], [0.0, 1.1, 0.5], [0.0, 0.0, 1.0]]).repeat(n, 1, 1)
    write_views_folder(folder, torch.rand(n, 3, 12, 12, generator=torch.Generator().manual_seed(0)), c2w, K)
    return folder


def test_a_scene_key_nothing_uses_is_refused_before_the_work(tmp_path, no_training) -> None:
    folder = _views(tmp_path / "views")
    with pytest.raises(ValueError, match=r"^scene_key only applies to ReconFusion inputs, to extra_views of a genxd "
                                         r"fewshot output and to the scene subfolders of masks$"):
        reconstruct_scene(folder, tmp_path / "out", ReconstructionConfig(iterations=1), scene_key="scan8",
                          progress=False)
    result = CliRunner().invoke(app, ["reconstruct", str(folder), "-o", str(tmp_path / "out"), "--scene-key", "x"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("genxd: error: --scene-key only applies to ReconFusion "
                                                             "inputs, to --extra-views of"), result.output
    assert not (tmp_path / "out").exists()
    # with --masks it picks the masks' scene subfolder: not refused for the key (the masks missing here are)
    (tmp_path / "masks").mkdir()
    with pytest.raises(FileNotFoundError, match="no mask for held-out view"):
        reconstruct_scene(folder, tmp_path / "out", ReconstructionConfig(iterations=1), scene_key="scan8",
                          holdout_every=2, masks=tmp_path / "masks", progress=False)


def test_eval_recon_refuses_a_scene_key_nothing_uses(tmp_path) -> None:
    folder = _views(tmp_path / "views")
    out = tmp_path / "recon"
    reconstruct_scene(folder, out, ReconstructionConfig(iterations=1, init_points=50, strategy="none"),
                      holdout_every=2, video_frames=0, progress=False, use_lpips=False)
    with pytest.raises(ValueError, match=r"^scene_key only applies to ReconFusion inputs and to the scene subfolders "
                                         r"of masks$"):
        evaluate_scene(out, scene_key="x", use_lpips=False)
    assert not (out / "metrics.json").exists()
    assert evaluate_scene(out, use_lpips=False)["num_views"] == 2
