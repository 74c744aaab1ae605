"""``genxd train-vae`` names its own settings (``vae.pretrained``, ``vae.config``) when the VAE cannot be made; it
named ``genxd train``'s ``model.vae.pretrained`` / ``model.vae.config``, keys a train-vae config does not have."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from .conftest import QUIET, TINY, TINY_VAE


@pytest.mark.parametrize("config, override, says", [
    (TINY_VAE, "vae.config=null",
     "genxd: error: the VAE needs vae.pretrained (a folder) or vae.config (a diffusers config)"),
    (TINY_VAE, "vae.config.latent_size=4", "genxd: error: vae.config: "),
    (TINY, "model.vae.config=null",
     "genxd: error: the VAE needs model.vae.pretrained (a folder) or model.vae.config (a diffusers config)"),
    (TINY, "model.vae.config.latent_size=4", "genxd: error: model.vae.config: "),
])
def test_the_refusal_names_the_commands_own_settings(tmp_path, config, override, says):
    command = "train-vae" if config == TINY_VAE else "train"
    result = CliRunner().invoke(app, [command, str(config), f"output_dir={tmp_path / 'run'}", *QUIET,
                                      "training.max_steps=1", "data.datasets.0.length=2", override])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and errors[0].startswith(says), result.output
    assert "Traceback" not in result.output
