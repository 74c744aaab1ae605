"""``genxd train-vae`` names its own settings (``vae.pretrained``, ``vae.config``) when the VAE cannot be made; it
named ``genxd train``'s ``model.vae.pretrained`` / ``model.vae.config``, keys a train-vae config does not have."""

from __future__ import annotations

import pytest

from .conftest import TINY, TINY_VAE, refused_one_step


@pytest.mark.parametrize("config, override, says", [
    (TINY_VAE, "vae.config=null",
     "genxd: error: the VAE needs vae.pretrained (a folder) or vae.config (a diffusers config)"),
    (TINY_VAE, "vae.config.latent_size=4", "genxd: error: vae.config: "),
    (TINY, "model.vae.config=null",
     "genxd: error: the VAE needs model.vae.pretrained (a folder) or model.vae.config (a diffusers config)"),
    (TINY, "model.vae.config.latent_size=4", "genxd: error: model.vae.config: "),
])
def test_the_refusal_names_the_commands_own_settings(tmp_path, config, override, says):
    result, errors = refused_one_step(tmp_path, config, override)
    assert len(errors) == 1 and errors[0].startswith(says), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("override, says", [
    # a traceback at the first step: "Given groups=1, expected weight to be at least 1 at dimension 0"
    ({"latent_channels": 0}, "vae.config: latent_channels must be a whole number >= 1, got 0"),
    ({"latent_channels": -2}, "vae.config: latent_channels must be a whole number >= 1, got -2"),
    ({"latent_channels": "4"}, "vae.config: latent_channels must be a whole number, got '4'"),
    # trained in silence, the loss broadcasting one channel over three: a VAE no GenXD model can decode with
    ({"out_channels": 1}, "vae.config: out_channels must be 3 (the clips are RGB), got 1"),
    ({"in_channels": 1}, "vae.config: in_channels must be 3 (the clips are RGB), got 1"),
    # "IndexError: list index out of range" at the first step
    ({"block_out_channels": [32, 32]}, "vae.config: block_out_channels has 2 entries, down_block_types 4: one of each "
                                       "per level"),
    ({"block_out_channels": [32, 0, 32, 32]}, "vae.config: block_out_channels must be whole numbers >= 1, got "
                                              "[32, 0, 32, 32]"),
    # the constructor's words named the key alone: "__init__() got an unexpected keyword argument 'sample_sise'"
    ({"sample_sise": 32}, "vae.config: unknown key(s) ['sample_sise'] (did you mean 'sample_size'?); "
                          "AutoencoderKLTemporalDecoder would be built without it"),
])
def test_a_vae_config_that_cannot_train_is_refused_before_it_is_built(override, says):
    from genxd.training.config import load_config
    from genxd.training.models import build_vae

    cfg = load_config(TINY_VAE, [], kind="vae")
    cfg.vae.config = {**(cfg.vae.config or {}), **override}
    with pytest.raises(ValueError) as caught:
        build_vae(cfg.vae, section="vae")
    assert str(caught.value) == says


def test_the_tiny_vae_config_is_built():
    from genxd.training.config import load_config
    from genxd.training.models import build_vae

    cfg = load_config(TINY_VAE, [], kind="vae")
    assert build_vae(cfg.vae, section="vae").config.latent_channels == 4


def test_a_vae_config_too_large_for_the_memory_is_one_error_line(tmp_path, monkeypatch):
    """Sizes each within what a config may ask for (at most 2**16) can build a network larger than the machine:
    block_out_channels [60000] * 4 is 5.56 TB of weights, and torch's allocator failed with a traceback of 30 lines
    ("DefaultCPUAllocator: can't allocate memory: you tried to allocate 129600000000 bytes"), or the build was killed.
    Now refused before it is built, saying what it needs and what the machine has (16 GB here, whatever it has)."""
    import genxd.utils.machine as machine

    monkeypatch.setattr(machine, "physical_memory", lambda: 16 * 10**9)
    result, errors = refused_one_step(tmp_path, TINY_VAE, "vae.config.block_out_channels=[60000,60000,60000,60000]")
    assert errors == ["genxd: error: vae.config: a network of 1,389,620M parameters, 5.56 TB at float32 before any "
                      "gradient or optimiser state, more than this machine's 16 GB of memory: use fewer or narrower "
                      "blocks"], result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_a_vae_that_fits_the_memory_is_built(monkeypatch):
    """The tiny VAE (0.41M parameters, 1.6 MB at float32) on a machine of 2 MB: built."""
    import genxd.utils.machine as machine
    from genxd.training.config import load_config
    from genxd.training.models import build_vae

    monkeypatch.setattr(machine, "physical_memory", lambda: 2 * 10**6)
    cfg = load_config(TINY_VAE, [], kind="vae")
    assert build_vae(cfg.vae, section="vae").config.latent_channels == 4
