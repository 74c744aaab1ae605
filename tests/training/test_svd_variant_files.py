"""``load_svd_state_dict`` reading the fp16 variant of a Stable Video Diffusion UNet folder under the names
diffusers' own writer gives it: one file (``diffusion_pytorch_model.fp16.safetensors``) or shards with their index
``diffusion_pytorch_model.safetensors.index.fp16.json`` (``.bin.index.fp16.json`` for pickle shards), or under the
deprecated name diffusers still loads, ``diffusion_pytorch_model.safetensors.fp16.index.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from genxd.training.models import load_svd_state_dict

from .conftest import tiny_svd_unet


@pytest.fixture(scope="module")
def fp16_unet() -> torch.nn.Module:
    return tiny_svd_unet().to(torch.float16)


def _assert_same(state: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    expected = model.state_dict()
    assert state.keys() == expected.keys()
    assert all(state[k].dtype == torch.float16 and torch.equal(state[k], expected[k]) for k in expected)


@pytest.mark.parametrize("shard_size", [None, "200KB"], ids=["one-file", "sharded"])
def test_the_fp16_variant_as_diffusers_writes_it_is_read(fp16_unet, tmp_path, shard_size):
    """The sharded fp16 variant was a FileNotFoundError: its index was looked for as
    diffusion_pytorch_model.fp16.safetensors.index.json, a name no writer gives it."""
    options = {} if shard_size is None else {"max_shard_size": shard_size}
    fp16_unet.save_pretrained(tmp_path / "svd" / "unet", variant="fp16", **options)
    config, state = load_svd_state_dict(tmp_path / "svd")
    assert config["block_out_channels"] == [32, 32]
    _assert_same(state, fp16_unet)


def test_the_sharded_fp16_pickle_variant_is_read_with_allow_pickle(fp16_unet, tmp_path):
    fp16_unet.save_pretrained(tmp_path / "svd" / "unet", variant="fp16", max_shard_size="200KB",
                              safe_serialization=False)
    with pytest.raises(FileNotFoundError, match=r"only pickle weights \(diffusion_pytorch_model\.bin\.index\.fp16"):
        load_svd_state_dict(tmp_path / "svd")
    _, state = load_svd_state_dict(tmp_path / "svd", allow_pickle=True)
    _assert_same(state, fp16_unet)


def test_a_config_too_large_for_the_sharded_fp16_variant_is_refused_before_building(fp16_unet, tmp_path):
    """The size check read the variant index as a weights file, failed, and checked nothing."""
    unet = tmp_path / "svd" / "unet"
    fp16_unet.save_pretrained(unet, variant="fp16", max_shard_size="200KB")
    config = json.loads((unet / "config.json").read_text())
    (unet / "config.json").write_text(json.dumps({**config, "layers_per_block": 64}))
    with pytest.raises(ValueError, match=r"layers_per_block = 64 asks for more than .*index\.fp16\.json holds"):
        load_svd_state_dict(Path(tmp_path / "svd"))


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_the_sharded_fp16_variant_under_the_deprecated_index_name_is_read(fp16_unet, tmp_path, kind):
    """diffusers still loads diffusion_pytorch_model.safetensors.fp16.index.json (its _fetch_index_file_legacy):
    such a folder was a FileNotFoundError ('no diffusion_pytorch_model(.fp16).safetensors'), and a config too
    large for it was not checked before building."""
    unet = tmp_path / "svd" / "unet"
    fp16_unet.save_pretrained(unet, variant="fp16", max_shard_size="200KB", safe_serialization=kind == "safetensors")
    legacy = f"diffusion_pytorch_model.{kind}.fp16.index.json"
    (unet / f"diffusion_pytorch_model.{kind}.index.fp16.json").rename(unet / legacy)
    _, state = load_svd_state_dict(tmp_path / "svd", allow_pickle=kind == "bin")
    _assert_same(state, fp16_unet)
    config = json.loads((unet / "config.json").read_text())
    (unet / "config.json").write_text(json.dumps({**config, "layers_per_block": 64}))
    with pytest.raises(ValueError, match=rf"layers_per_block = 64 asks for more than .*{re.escape(legacy)} holds"):
        load_svd_state_dict(tmp_path / "svd", allow_pickle=kind == "bin")
