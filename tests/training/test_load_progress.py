"""``logging.progress_bar=false`` keeps diffusers' "Loading checkpoint shards" bar off stderr while ``genxd train``
and ``genxd train-vae`` load a sharded UNet or VAE folder: training's ``load_component`` took no ``progress``
argument (``load_model`` passes its own), so the bar was drawn whatever the setting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from diffusers import AutoencoderKLTemporalDecoder
from diffusers.utils import logging as diffusers_logging

import genxd.training.trainer as trainer
import genxd.training.vae_trainer as vae_trainer
from genxd.models import UNetMVTemporalConditionModel
from genxd.training.config import load_config
from tests.helpers import ROOT

from .conftest import QUIET, TINY, TINY_VAE

BUNDLED = ROOT / "src" / "genxd" / "assets" / "genxd-small"


class Loaded(Exception):
    """Raised as soon as the models are loaded: what follows draws no such bar, and is slow."""


def _stop(*args, **kwargs):
    raise Loaded


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    """The bundled model with its UNet and VAE saved in several shards."""
    root = Path(shutil.copytree(BUNDLED, tmp_path_factory.mktemp("sharded") / "model"))
    for name, cls in (("unet", UNetMVTemporalConditionModel), ("vae", AutoencoderKLTemporalDecoder)):
        model = cls.from_pretrained(root / name)
        (root / name / "diffusion_pytorch_model.safetensors").unlink()
        model.save_pretrained(root / name, max_shard_size="200KB")
        assert (root / name / "diffusion_pytorch_model.safetensors.index.json").is_file()
    return root


def _bars(capfd, run) -> str:
    capfd.readouterr()
    with pytest.raises(Loaded):
        run()
    assert diffusers_logging.is_progress_bar_enabled()  # put back
    return capfd.readouterr().err


def test_train_loads_a_sharded_checkpoint_without_the_bar(sharded, tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(trainer, "build_scheduler", _stop)  # right after the UNet and the VAE
    cfg = load_config(TINY, [f"output_dir={tmp_path / 'run'}", *QUIET, "model.init=genxd", f"model.pretrained={sharded}",
                             "model.unet={}"])
    err = _bars(capfd, lambda: trainer.train_genxd(cfg, cpu=True))
    assert "Loading checkpoint shards" not in err, err


def test_train_vae_loads_a_sharded_vae_without_the_bar(sharded, tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(vae_trainer, "count_parameters", _stop)  # right after the VAE
    cfg = load_config(TINY_VAE, [f"output_dir={tmp_path / 'run'}", *QUIET, f"vae.pretrained={sharded / 'vae'}",
                                 "vae.config=null"], kind="vae")
    err = _bars(capfd, lambda: vae_trainer.train_vae(cfg, cpu=True))
    assert "Loading checkpoint shards" not in err, err


def test_the_bar_shows_when_progress_is_on(sharded, tmp_path, capfd, monkeypatch):
    """The check above can fail: with logging.progress_bar on, the same load draws the bar."""
    monkeypatch.setattr(vae_trainer, "count_parameters", _stop)
    cfg = load_config(TINY_VAE, [f"output_dir={tmp_path / 'run'}", *QUIET, f"vae.pretrained={sharded / 'vae'}",
                                 "vae.config=null", "logging.progress_bar=true"], kind="vae")
    assert "Loading checkpoint shards" in _bars(capfd, lambda: vae_trainer.train_vae(cfg, cpu=True))
