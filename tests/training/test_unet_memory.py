"""``genxd train`` of a UNet built from scratch (``model.init: scratch``) whose ``model.unet`` config asks for more
memory than the machine has: each size is under the config's limit (2**16), and yet ``block_out_channels`` of 60000
make a network of terabytes. The VAE's config was checked so (tests/training/test_vae_settings.py); the UNet's was
built until torch's allocator failed with a traceback, or the build was killed without a word. The same for
``model.init: svd``, whose ``model.unet`` overrides the converted Stable Video Diffusion config: refused before the SVD
weights are read."""

from __future__ import annotations

import pytest

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


def _svd_folder(tmp_path):
    from .conftest import tiny_svd_unet

    tiny_svd_unet().save_pretrained(tmp_path / "svd" / "unet")
    return tmp_path / "svd"


@pytest.fixture
def no_svd_weights_read(monkeypatch):
    """Reading the SVD weights fails the test (the network is built right after: the refusals come before both)."""
    import genxd.training.models as models

    def read_weights(*args, **kwargs):
        raise AssertionError("the SVD weights were read")

    monkeypatch.setattr(models, "load_svd_state_dict", read_weights)


def test_svd_overrides_larger_than_the_memory_are_refused_before_the_svd_weights_are_read(tmp_path, monkeypatch,
                                                                                         no_svd_weights_read):
    """``model.init: svd`` applies ``model.unet`` over the converted SVD config; block_out_channels of 60000 make
    that network 11 TB at float32: it was built (after the SVD weights, gigabytes, were read) until the allocator
    failed or the process was killed."""
    import genxd.training.models as models
    import genxd.utils.machine as machine
    from genxd.training.config import load_config

    monkeypatch.setattr(machine, "physical_memory", lambda: 16 * 10**9)
    svd = _svd_folder(tmp_path)
    cfg = load_config(None, ["model.init=svd", f"model.pretrained={svd}", "model.unet.block_out_channels=[60000,60000]"])
    with pytest.raises(ValueError) as caught:
        models.build_unet(cfg.model, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{svd / 'unet' / 'config.json'} (as a GenXD UNet, with model.unet): a network of "), message
    assert message.endswith(" TB at float32 before any gradient or optimiser state, more than this machine's 16 GB of "
                            "memory: use fewer or narrower blocks"), message


def test_svd_overrides_beyond_any_model_are_refused_before_the_network_is_sized(tmp_path, monkeypatch,
                                                                               no_svd_weights_read):
    """A layer count far beyond any model (100000 per block) made even the memory check's build on the meta device
    run for hours: refused by the config size limits first, naming model.unet."""
    import genxd.training.models as models
    from genxd.training.config import load_config

    monkeypatch.setattr(models, "check_network_fits_memory", lambda *a: pytest.fail("sized before the limits"))
    svd = _svd_folder(tmp_path)
    cfg = load_config(None, ["model.init=svd", f"model.pretrained={svd}", "model.unet.layers_per_block=100000"])
    with pytest.raises(ValueError, match=r"^model\.unet: layers_per_block = 100000 is beyond any model genxd can "
                                         r"build \(at most 256\)$"):
        models.build_unet(cfg.model, progress=False)


def test_svd_overrides_that_fit_the_memory_build(tmp_path, monkeypatch):
    """A deeper network than the SVD UNet (two layers per block, the new ones initialised) on a machine of 64 MB."""
    import genxd.utils.machine as machine
    from genxd.training.config import load_config
    from genxd.training.models import build_unet

    monkeypatch.setattr(machine, "physical_memory", lambda: 64 * 10**6)
    svd = _svd_folder(tmp_path)
    cfg = load_config(None, ["model.init=svd", f"model.pretrained={svd}", "model.unet.layers_per_block=2"])
    unet, where = build_unet(cfg.model, progress=False)
    assert where.startswith(f"Stable Video Diffusion {svd}: ") and unet.config.layers_per_block == 2


def test_a_scratch_unet_config_beyond_any_model_is_refused_before_the_network_is_sized(monkeypatch):
    """``model.init: scratch`` with ``model.unet.layers_per_block=100000``: the memory check's build on the meta device
    ran for hours (the VAE's config and an SVD start's overrides had the size limits, the scratch UNet's not)."""
    import genxd.training.models as models
    from genxd.training.config import load_config

    def sized(*args):
        raise AssertionError("sized before the limits")

    monkeypatch.setattr(models, "check_network_fits_memory", sized)
    cfg = load_config(TINY, ["model.unet.layers_per_block=100000"])
    with pytest.raises(ValueError, match=r"^model\.unet: layers_per_block = 100000 is beyond any model genxd can "
                                         r"build \(at most 256\)$"):
        models.build_unet(cfg.model, progress=False)
