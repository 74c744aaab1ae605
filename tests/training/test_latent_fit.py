"""``genxd train`` refuses a UNet that does not take and predict its VAE's latents as generation does
(:func:`genxd.component_fit.check_latent_channels`), before the data or the models load, naming both configs. Before:
a VAE of 8 latent channels beside the bundled UNet was refused only once the dataset was built and both models were
loaded, in words naming neither config. Training and generation say the same of every pair (a UNet of
``ray_condition: false``, in_channels 15 = 2 x 7 + the mask, beside a VAE of 7 latent channels: both take it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genxd.checkpoint_folders import BUNDLED, starting_folder
from genxd.component_fit import check_latent_channels_of
from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY

SHORT = [*QUIET, "data.datasets.0.length=2", "training.batch_size=1", "training.max_steps=1",
         "training.ema.enabled=false"]


@pytest.fixture
def vae_of_8_latents(tmp_path) -> Path:
    """A VAE folder of 8 latent channels (one level: latents at full size)."""
    from diffusers import AutoencoderKLTemporalDecoder

    vae = AutoencoderKLTemporalDecoder(block_out_channels=(32,), down_block_types=("DownEncoderBlock2D",),
                                       layers_per_block=1, latent_channels=8)
    vae.save_pretrained(tmp_path / "vae8")
    return tmp_path / "vae8"


@pytest.fixture
def nothing_loads(monkeypatch):
    """Building the data or a model fails the test: the refusal must come before them."""
    import genxd.training.trainer as trainer

    def loaded(*args, **kwargs):
        raise AssertionError("loaded before the configs were checked")

    for name in ("build_training_dataset", "build_unet", "build_vae"):
        monkeypatch.setattr(trainer, name, loaded)


def test_a_vae_of_other_latents_beside_a_checkpoint_is_refused_naming_both_configs(tmp_path, vae_of_8_latents,
                                                                                 nothing_loads):
    cfg = load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'run'}", "model.init=genxd",
                             f"model.pretrained={BUNDLED}", "model.unet={}", f"model.vae.pretrained={vae_of_8_latents}",
                             "data.height=64"])
    with pytest.raises(ValueError) as caught:
        train_genxd(cfg, cpu=True)
    unet_config = starting_folder(BUNDLED) / "unet" / "config.json"
    assert str(caught.value) == (f"{unet_config}: out_channels = 4, but the VAE's latents have 8 channels "
                                 f"(latent_channels of {vae_of_8_latents / 'config.json'}): a UNet and a VAE of "
                                 "different models")
    assert not (tmp_path / "run").exists()


def test_a_vae_config_of_other_latents_is_refused_naming_the_config_sections(tmp_path, nothing_loads):
    cfg = load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'run'}", "model.vae.config.latent_channels=8"])
    with pytest.raises(ValueError) as caught:
        train_genxd(cfg, cpu=True)
    assert str(caught.value) == ("model.unet: out_channels = 4, but the VAE's latents have 8 channels "
                                 "(latent_channels of model.vae.config): a UNet and a VAE of different models")


@pytest.mark.parametrize("unet, latents", [
    ({"ray_condition": False, "in_channels": 15, "out_channels": 7}, 7),  # 2 x 7 + the mask, no rays: both take it
    ({"in_channels": 23, "out_channels": 8}, 8),
])
def test_training_accepts_what_generation_loads_and_nothing_else(tmp_path, unet, latents):
    """Whatever check_latent_channels says of the run's configs, training says the same (a model it trains loads)."""
    sections = [f"model.unet.{key}={json.dumps(value)}" for key, value in unet.items()]
    cfg = load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'run'}", *sections,
                             f"model.vae.config.latent_channels={latents}"])
    try:
        check_latent_channels_of(cfg.model.unet, cfg.model.vae.config or {}, "model.unet", "model.vae.config")
        generation_says = None
    except ValueError as exc:
        generation_says = str(exc)
    if generation_says is None:
        assert train_genxd(cfg, cpu=True) is not None
    else:
        with pytest.raises(ValueError) as caught:
            train_genxd(cfg, cpu=True)
        assert str(caught.value) == generation_says
