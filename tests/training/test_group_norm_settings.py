"""``genxd train`` / ``train-vae``: a VAE or UNet config whose channels do not divide into the GroupNorm layers' 32
groups (or that sets ``norm_num_groups``, which neither class takes) is refused naming the section, the setting,
the group count and the channels; torch said "num_channels (48) must be divisible by num_groups (32)", and
``norm_num_groups`` was "AutoencoderKLTemporalDecoder.__init__() got an unexpected keyword argument"."""

from __future__ import annotations

import pytest

from .conftest import TINY, TINY_VAE, refused_one_step

_VAE = "AutoencoderKLTemporalDecoder"
_UNET = "UNetMVTemporalConditionModel"


def _groups(where: str, channels: str, c: int, network: str) -> str:
    return (f"genxd: error: {where}: block_out_channels = {channels}: {c} channels do not divide into the 32 groups of "
            f"{network}'s GroupNorm layers (each entry must be a multiple of 32)")


@pytest.mark.parametrize("config, override, says", [
    (TINY_VAE, "vae.config.block_out_channels=[32,48,32,32]", _groups("vae.config", "[32, 48, 32, 32]", 48, _VAE)),
    (TINY_VAE, "vae.config.norm_num_groups=16",
     f"genxd: error: vae.config: norm_num_groups is not a setting of {_VAE}: its GroupNorm layers have 32 groups "
     "(block_out_channels must be multiples of 32)"),
    (TINY, "model.vae.config.block_out_channels=[16,16,16,16]",
     _groups("model.vae.config", "[16, 16, 16, 16]", 16, _VAE)),
    # was: "block_out_channels must be multiples of 32 (GroupNorm), got [48, 64]" (the UNet's own, its section unnamed)
    (TINY, "model.unet.block_out_channels=[48,64]", _groups("model.unet", "[48, 64]", 48, _UNET)),
])
def test_channels_the_groups_do_not_divide_are_named(tmp_path, config, override, says):
    result, errors = refused_one_step(tmp_path, config, override)
    assert errors == [says], result.output
    assert not (tmp_path / "run" / "checkpoints").exists() or not any((tmp_path / "run" / "checkpoints").iterdir())
