"""``genxd train`` of a UNet built from scratch (``model.init: scratch``) whose ``model.unet`` config asks for more
memory than the machine has: each size is under the config's limit (2**16), and yet ``block_out_channels`` of 60000
make a network of terabytes. The VAE's config was checked so (tests/training/test_vae_settings.py); the UNet's was
built until torch's allocator failed with a traceback, or the build was killed without a word."""

from __future__ import annotations

from .conftest import TINY, refused_one_step


def test_a_unet_config_larger_than_the_memory_is_refused_before_it_is_built(tmp_path, monkeypatch):
    import genxd.utils.machine as machine

    monkeypatch.setattr(machine, "physical_memory", lambda: 16 * 10**9)  # what it says, whatever this machine has
    result, errors = refused_one_step(tmp_path, TINY, "model.unet.block_out_channels=[60000,60000]")
    assert len(errors) == 1 and errors[0].startswith("genxd: error: model.unet: a network of "), result.output
    assert errors[0].endswith("at float32 before any gradient or optimiser state, more than this machine's 16 GB of "
                              "memory: use fewer or narrower blocks"), errors
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_the_tiny_unet_fits_a_small_memory(monkeypatch):
    """The tiny preset's UNet (under 1M parameters, a few MB at float32) on a machine of 64 MB: built."""
    import genxd.utils.machine as machine
    from genxd.training.config import load_config
    from genxd.training.models import build_unet

    monkeypatch.setattr(machine, "physical_memory", lambda: 64 * 10**6)
    cfg = load_config(TINY, [])
    unet, where = build_unet(cfg.model, progress=False)
    assert where == "random initialisation (model.unet config)"
    assert 4 * sum(p.numel() for p in unet.parameters()) < 64 * 10**6
