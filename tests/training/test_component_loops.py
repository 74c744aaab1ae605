"""A starting folder whose ``unet`` or ``vae`` is a loop of symbolic links (``genxd train`` ``model.pretrained``,
``model.vae.pretrained``, ``genxd train-vae`` ``vae.pretrained``) names the loop, as ``--model`` does
(tests/test_checkpoint_folders.py); it read "FOLDER: no unet/config.json (expected a GenXD checkpoint folder)"."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from genxd.checkpoints import BUNDLED_MODEL_DIR
from genxd.training.config import ModelConfig, VAEModelConfig
from genxd.training.models import build_unet, build_vae


@pytest.fixture
def model(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "model"))


def _loop(model: Path, component: str) -> None:
    shutil.rmtree(model / component)
    os.symlink("other", model / component)
    os.symlink(component, model / "other")


def test_a_unet_link_loop_is_named(model):
    _loop(model, "unet")
    with pytest.raises(FileNotFoundError) as info:
        build_unet(ModelConfig(init="genxd", pretrained=str(model)), progress=False)
    assert str(info.value) == (f"{model / 'unet'} is a loop of symbolic links (unet -> other -> unet), not a folder: "
                               "point it at the checkpoint's unet/ folder")


def test_a_vae_link_loop_is_named(model):
    _loop(model, "vae")
    with pytest.raises(FileNotFoundError) as info:
        build_vae(VAEModelConfig(pretrained=str(model)), progress=False)
    assert str(info.value) == (f"{model / 'vae'} is a loop of symbolic links (vae -> other -> vae), not a folder: "
                               "point it at the checkpoint's vae/ folder")
