"""A VAE section that sets both ``pretrained`` and ``config`` loads the folder and leaves the config unused (the
folder's own config builds the VAE): said in one warning when one source set both (one YAML file, or the command
line), not for a preset's ``config`` with a ``pretrained`` given elsewhere (``genxd train-vae tiny_vae
vae.pretrained=DIR``: fine-tune DIR)."""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from genxd.training.config import load_config
from genxd.training.presets import preset_names
from genxd.validation import GenXDWarning

_BOTH = "vae:\n  pretrained: bundled\n  config:\n    latent_channels: 4\n"


def _unused(name: str, where: str) -> str:
    return (f"{name}.config is not used: {name}.pretrained (bundled) is loaded with its own config (both are set "
            f"{where}; leave one out)")


def test_a_file_that_sets_both_is_warned_of(tmp_path):
    # was: loaded without a word, the config's latent_channels never read
    path = tmp_path / "mine.yaml"
    path.write_text("base: tiny_vae.yaml\n" + _BOTH)
    with pytest.warns(GenXDWarning) as caught:
        cfg = load_config(path, [], kind="vae")
    assert [str(w.message) for w in caught] == [_unused("vae", f"in {path}")]
    assert cfg.vae.pretrained == "bundled"


def test_overrides_that_set_both_are_warned_of():
    with pytest.warns(GenXDWarning) as caught:
        load_config("tiny", ["model.vae.pretrained=bundled", "model.vae.config.latent_channels=4"])
    assert [str(w.message) for w in caught] == [_unused("model.vae", "on the command line")]


def test_a_file_that_sets_the_starting_model_and_a_vae_config_is_warned_of(tmp_path):
    """``genxd train``'s VAE comes from ``model.pretrained`` (init genxd / svd) unless ``model.vae.pretrained`` is
    given: a ``model.vae.config`` beside it went unused in silence as well."""
    path = tmp_path / "mine.yaml"
    path.write_text("base: tiny.yaml\nmodel:\n  init: genxd\n  pretrained: bundled\n  unet: {}\n  vae:\n    config:\n"
                    "      latent_channels: 4\n")
    with pytest.warns(GenXDWarning) as caught:
        load_config(path, [])
    assert [str(w.message) for w in caught] == [
        "model.vae.config is not used: the VAE of model.pretrained (bundled, model.init=genxd) is loaded with its own "
        f"config (both are set in {path}; leave one out)"]


@pytest.mark.parametrize("config, overrides, kind", [
    ("tiny_vae", ["vae.pretrained=bundled"], "vae"),  # the preset's config, a folder to fine-tune
    ("tiny", ["model.vae.pretrained=bundled"], "genxd"),
    ("tiny", ["model.init=genxd", "model.pretrained=bundled", "model.unet={}"], "genxd"),  # the preset's config
    ("mine", [], "vae"),  # a file of the preset's config, its own pretrained
    ("both", ["vae.pretrained=null"], "vae"),  # both in the file, the command line leaves the folder out: used
])
def test_a_config_and_a_pretrained_of_other_sources_are_not_warned_of(tmp_path, config, overrides, kind):
    (tmp_path / "mine.yaml").write_text("base: tiny_vae.yaml\nvae:\n  pretrained: bundled\n")
    (tmp_path / "both.yaml").write_text("base: tiny_vae.yaml\n" + _BOTH)
    path = tmp_path / f"{config}.yaml" if config in ("mine", "both") else config
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        load_config(path, overrides, kind=kind)


def test_a_runs_resolved_config_is_not_warned_of(tmp_path):
    """The config.yaml a run writes holds every setting (the preset's config, the command line's pretrained): fed
    back (``genxd train-vae RUN/config.yaml --resume latest``), it is not the user setting both."""
    from genxd.training.checkpoint_files import CONFIG_MARK

    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_MARK + "\nbase: tiny_vae.yaml\n" + _BOTH)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        assert load_config(path, [], kind="vae").vae.pretrained == "bundled"


@pytest.mark.parametrize("name", preset_names())
def test_no_shipped_preset_is_warned_of(name):
    kind = "vae" if name.endswith("_vae") else "genxd"
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        load_config(name, [], kind=kind)


def test_the_command_line_says_it_in_one_line(tmp_path):
    from genxd.cli import app

    result = CliRunner().invoke(app, ["train-vae", "tiny_vae", "vae.pretrained=bundled", "vae.config.latent_channels=4",
                                      "--print-config"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("genxd:")] == [
        "genxd: warning: " + _unused("vae", "on the command line")]
