"""Fixtures for the training tests: one torch thread (tiny models), the tiny preset, a CamVid folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "genxd" / "configs"
TINY = CONFIGS / "tiny.yaml"
TINY_VAE = CONFIGS / "tiny_vae.yaml"
#: Overrides that keep the tiny preset quiet and short in tests.
QUIET = ["logging.progress_bar=false", "logging.every_steps=1", "validation.every_steps=0", "checkpoint.every_steps=0"]


@pytest.fixture(autouse=True, scope="package")
def _single_thread():
    """Tiny models run many small ops: one thread avoids oversubscription on shared CI cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="package")
def camvid_root(tmp_path_factory) -> Path:
    """Two CamVid-30K samples (one static, one dynamic; 8 frames, 32x32) written by the synthetic writer."""
    from genxd.data.synthetic import make_clip, write_clip

    root = tmp_path_factory.mktemp("camvid")
    write_clip(make_clip(11, "3d", 8, 32, 32), root, "static0", "camvid", num_points=2000)
    write_clip(make_clip(12, "4d", 8, 32, 32), root, "dynamic0", "camvid", num_points=2000)
    return root


def tiny_svd_unet():
    """The smallest Stable Video Diffusion UNet layout (two blocks of 32 channels, 4 frames), seeded: what
    ``model.init=svd`` converts in the tests."""
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(0)
    return UNetSpatioTemporalConditionModel(
        sample_size=8, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 32), addition_time_embed_dim=32, projection_class_embeddings_input_dim=96,
        layers_per_block=1, cross_attention_dim=64, num_attention_heads=(1, 1), num_frames=4,
    )


def checkpoint_folder(run: Path, step: int) -> Path:
    """An empty checkpoint folder of ``run`` at ``step`` (its training_state.json only)."""
    folder = run / "checkpoints" / f"checkpoint-{step:07d}"
    folder.mkdir(parents=True)
    (folder / "training_state.json").write_text(f'{{"step": {step}}}')
    return folder


def refused_one_step(tmp_path: Path, config: Path, override: str):
    """``genxd train`` (``train-vae`` for :data:`TINY_VAE`) of ``config`` with ``override``, one step, expected to be
    refused with exit 2: ``(result, its "genxd: error:" lines)``."""
    from typer.testing import CliRunner

    from genxd.cli import app

    command = "train-vae" if config == TINY_VAE else "train"
    result = CliRunner().invoke(app, [command, str(config), f"output_dir={tmp_path / 'run'}", *QUIET,
                                      "training.max_steps=1", "data.datasets.0.length=2", override])
    assert result.exit_code == 2, result.output
    return result, [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
