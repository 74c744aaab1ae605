"""A network config whose ``block_out_channels`` do not divide into the 32 groups of the GroupNorm layers is refused
when read, naming the config, the setting, the group count and the channels: torch's "num_channels (48) must be
divisible by num_groups (32)" named none of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_model
from genxd.config_groups import GROUP_NORM_GROUPS, check_group_norm_channels


def test_multiples_of_the_group_count_pass_and_others_are_named():
    check_group_norm_channels("c.json", {"block_out_channels": [32, 64, 96]}, "Net")
    check_group_norm_channels("c.json", {}, "Net")  # the class's default
    check_group_norm_channels("c.json", {"block_out_channels": "64"}, "Net")  # another type: the type check's
    with pytest.raises(ValueError) as info:
        check_group_norm_channels("c.json", {"block_out_channels": [32, 48]}, "Net")
    assert str(info.value) == ("c.json: block_out_channels = [32, 48]: 48 channels do not divide into the 32 groups of "
                               "Net's GroupNorm layers (each entry must be a multiple of 32)")
    with pytest.raises(ValueError, match=r"^c.json: norm_num_groups is not a setting of Net: its GroupNorm layers "
                                         r"have 32 groups \(block_out_channels must be multiples of 32\)$"):
        check_group_norm_channels("c.json", {"norm_num_groups": 16, "block_out_channels": [32]}, "Net")


def test_the_group_count_is_the_networks_own():
    """What the check assumes, read from the layers diffusers and genxd build."""
    from diffusers import AutoencoderKLTemporalDecoder
    from torch import nn

    from genxd.models import UNetMVTemporalConditionModel

    vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2)
    unet = UNetMVTemporalConditionModel(block_out_channels=(32, 64), num_attention_heads=1, addition_time_embed_dim=32,
                                        projection_class_embeddings_input_dim=64, layers_per_block=1,
                                        down_block_types=("CrossAttnDownBlockMVCascadeTemporal",
                                                          "DownBlockMVCascadeTemporal"),
                                        up_block_types=("UpBlockMVCascadeTemporal", "CrossAttnUpBlockMVCascadeTemporal"))
    for network in (vae, unet):
        groups = {m.num_groups for m in network.modules() if isinstance(m, nn.GroupNorm)}
        assert groups == {GROUP_NORM_GROUPS}


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_a_model_folders_vae_config_is_refused_before_its_weights_are_read(tmp_path):
    # was: "no weight in .../diffusion_pytorch_model.safetensors has 48 channels" (torch's words once the weights fit)
    folder = Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))
    path = folder / "vae" / "config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "block_out_channels": [48, 48, 48]}))
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == (f"{path}: block_out_channels = [48, 48, 48]: 48 channels do not divide into the 32 "
                               "groups of AutoencoderKLTemporalDecoder's GroupNorm layers (each entry must be a "
                               "multiple of 32)")
