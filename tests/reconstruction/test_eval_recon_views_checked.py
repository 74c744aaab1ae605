"""``genxd eval-recon`` scores views the reconstruction did not train on: a ReconFusion scene whose split was
rewritten after the reconstruction (``genxd fewshot-data ... --overwrite --hold 5``) is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import trajectories
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.reconstruction.pipeline import evaluate_scene


def _scene(root: Path, split: tuple[list[int], list[int]], overwrite: bool = False) -> None:
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=8)
    write_reconfusion_scene(root, "scene_a", images, c2w, K, {3: split}, overwrite=overwrite)


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory) -> tuple[Path, Path]:
    """``(ReconFusion folder, reconstruction)``: 3 steps on the training views 1, 4, 6 of split 3 (test 0, 5)."""
    root = tmp_path_factory.mktemp("split_changed")
    _scene(root / "rf", ([1, 4, 6], [0, 5]))
    out = root / "recon"
    reconstruct_scene(root / "rf", out, ReconstructionConfig(iterations=3, init_points=200), resolution=None,
                      n_views=3, video_frames=0, progress=False, use_lpips=False)
    return root / "rf", out


def test_a_split_that_now_holds_out_a_training_view_is_refused(reconstructed, tmp_path) -> None:
    """Before: the rewritten split's test views 0, 4 were scored, view 4 among them, which the Gaussians were trained
    on (a PSNR of training and held-out views mixed, reported as held-out)."""
    rf, out = reconstructed
    assert evaluate_scene(out, use_lpips=False, out_path=tmp_path / "before.json")["test_views"] == [0, 5]
    _scene(rf, ([1, 2, 6], [0, 4]), overwrite=True)
    try:
        says = (f"{rf}: reconfusion train_test_split_3 holds out view 4, which {out} was trained on (the train views "
                "of its cameras.json): its score would not be held-out; score the split it was reconstructed with, "
                "or reconstruct on this one")
        with pytest.raises(ValueError) as info:
            evaluate_scene(out, use_lpips=False, out_path=tmp_path / "after.json")
        assert str(info.value) == says
        result = CliRunner().invoke(app, ["eval-recon", str(out), "--no-lpips", "-o", str(tmp_path / "cli.json")])
        assert result.exit_code == 2 and result.output.strip().splitlines() == [f"genxd: error: {says}"]
        assert not (tmp_path / "after.json").exists() and not (tmp_path / "cli.json").exists()
    finally:
        _scene(rf, ([1, 4, 6], [0, 5]), overwrite=True)


def test_another_capture_given_as_the_input_is_refused(reconstructed, tmp_path) -> None:
    """``eval-recon OUT --input OTHER``: before, OTHER's views were scored against renders at OTHER's cameras of a scene
    reconstructed in another world (a PSNR of nothing, without a word). A ReconFusion scene of other cameras; the
    cameras of its view 0 are the reconstruction's, those of view 5 not."""
    rf, out = reconstructed
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    c2w, K = trajectories.orbit(num_frames=8)
    c2w[5, :3, 3] += 0.5
    write_reconfusion_scene(tmp_path / "other", "scene_a", images, c2w, K, {3: ([1, 4, 6], [0, 5])})
    says = (f"{tmp_path / 'other'}: held-out view 5 (scene_a/0005) is not at the camera {out / 'cameras.json'} records "
            "for it: another capture, or one changed since it was reconstructed; pass {} the input it was "
            "reconstructed from")
    with pytest.raises(ValueError) as info:
        evaluate_scene(out, input_path=tmp_path / "other", use_lpips=False, out_path=tmp_path / "m.json")
    assert str(info.value) == says.format("input_path")
    result = CliRunner().invoke(app, ["eval-recon", str(out), "--input", str(tmp_path / "other"), "--no-lpips",
                                      "-o", str(tmp_path / "cli.json")])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"genxd: error: {says.format('--input')}"]
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "cli.json").exists()
    K2 = K.clone()
    K2[0, 0] *= 1.01  # view 0 through another lens
    c2w[5, :3, 3] -= 0.5
    write_reconfusion_scene(tmp_path / "lens", "scene_a", images, c2w, K2, {3: ([1, 4, 6], [0, 5])})
    with pytest.raises(ValueError, match=r"held-out view 0 \(scene_a/0000\) is not at the camera"):
        evaluate_scene(out, input_path=tmp_path / "lens", use_lpips=False, out_path=tmp_path / "m.json")
    # the same cameras with other pixels are another capture genxd cannot tell: scored
    write_reconfusion_scene(tmp_path / "same", "scene_a", images, c2w, K, {3: ([1, 4, 6], [0, 5])})
    assert evaluate_scene(out, input_path=tmp_path / "same", use_lpips=False,
                          out_path=tmp_path / "m.json")["test_views"] == [0, 5]
