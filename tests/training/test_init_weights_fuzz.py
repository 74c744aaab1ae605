"""The pretrained weights ``genxd train`` starts from, as the fuzzer's ``train-init`` target
(``benchmarks/fuzz_targets_training.py``) damaged them. Before the fixes (300 cases: 49 unnamed, 175 internal):
a damaged safetensors file was an OSError / SafetensorError, a config that is not a JSON object a TypeError (and
diffusers took it for a hub id), an SVD config the UNet cannot be built from TypeError / KeyError /
ZeroDivisionError, NaN weights were loaded, a shard named ``..`` in the index was read from outside the folder.
Each is now a ValueError (or FileNotFoundError) naming the file; a short fixed-seed run of the target finds
nothing."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from genxd.training.config import load_config
from genxd.training.models import build_scheduler, build_unet, build_vae
from tests.helpers import ROOT, assert_fuzz_finds_nothing

from .conftest import tiny_svd_unet

BUNDLED = ROOT / "src" / "genxd" / "assets" / "genxd-small"


@pytest.fixture(scope="module")
def svd_folder(tmp_path_factory) -> Path:
    """A tiny Stable Video Diffusion UNet, saved in several shards."""
    root = tmp_path_factory.mktemp("svd") / "svd"
    tiny_svd_unet().save_pretrained(root / "unet", max_shard_size="200KB")
    return root


def _svd(svd_folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(svd_folder, tmp_path / "svd"))


def _build_svd(folder: Path):
    return build_unet(load_config(None, ["model.init=svd", f"model.pretrained={folder}"]).model)


def _nan_into(weights: Path) -> None:
    data = bytearray(weights.read_bytes())
    header = 8 + struct.unpack("<Q", data[:8])[0]
    at = header + 4 * ((len(data) - header) // 8)  # a float32 in the middle of the data
    data[at:at + 4] = struct.pack("<f", float("nan"))
    weights.write_bytes(bytes(data))


def test_the_sharded_svd_unet_builds(svd_folder, tmp_path):
    unet, origin = _build_svd(_svd(svd_folder, tmp_path))
    assert "Stable Video Diffusion" in origin


def test_a_shard_outside_the_folder_is_refused(svd_folder, tmp_path):
    folder = _svd(svd_folder, tmp_path)
    index = folder / "unet" / "diffusion_pytorch_model.safetensors.index.json"
    tree = json.loads(index.read_text())
    key = next(iter(tree["weight_map"]))
    tree["weight_map"][key] = "../../secret.safetensors"
    index.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match=r"index.json: file path '../../secret.safetensors' points outside"):
        _build_svd(folder)


def test_the_shard_index_is_read_once_with_the_json_size_limit(svd_folder, tmp_path, monkeypatch):
    """The config check parsed the index by hand, whatever its size, before the loader read it again through
    read_json: a config asking for more layers than the weights hold was compared with an index over the limit.
    The index is now read once, by read_json, and one over the limit is refused as such before anything else."""
    from genxd.utils import json_files  # where read_json reads the limit

    folder = _svd(svd_folder, tmp_path)
    config = folder / "unet" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "layers_per_block": 64}))
    index = folder / "unet" / "diffusion_pytorch_model.safetensors.index.json"
    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", index.stat().st_size - 1)
    with pytest.raises(ValueError, match=r"index\.json: a JSON file of .* are read \(expected a safetensors index\)"):
        _build_svd(folder)


def test_a_damaged_or_nan_shard_names_it(svd_folder, tmp_path):
    folder = _svd(svd_folder, tmp_path)
    shard = sorted((folder / "unet").glob("*-00001-of-*.safetensors"))[0]
    data = shard.read_bytes()
    shard.write_bytes(data[:8] + b"\x00" * 16 + data[24:])  # the header's JSON damaged
    with pytest.raises(ValueError, match=f"{shard.name}: not a readable safetensors file"):
        _build_svd(folder)
    shard.write_bytes(data)
    _nan_into(shard)
    with pytest.raises(ValueError, match=f"{shard.name}: the weight .* holds NaN or infinite values"):
        _build_svd(folder)


@pytest.mark.parametrize("change, says", [
    (lambda c: c.update(block_out_channels=[0, 32]), "cannot build a GenXD UNet from this Stable Video Diffusion"),
    (lambda c: c.update(up_block_types=[[1, 2], "x"]), "cannot build a GenXD UNet from this Stable Video Diffusion"),
    (lambda c: c.pop("block_out_channels"), "cannot build a GenXD UNet from this Stable Video Diffusion"),
    (lambda c: c.update(layers_per_block=2**62), "layers_per_block = 4611686018427387904 is beyond any model"),
    # was: built with 64 x 64 layers per block (the weights number 3 resnets and 1 transformer layer) before
    # their conversion failed
    (lambda c: c.update(layers_per_block=64, transformer_layers_per_block=64), "layers_per_block = 64 asks for "
     "more than .*diffusion_pytorch_model.safetensors.index.json holds"),
    (lambda c: c.update(block_out_channels=[32, 65536]), r"block_out_channels = \[32, 65536\]: no weight in"),
], ids=["zero-channels", "list-as-block-type", "no-channels", "huge-layer-count", "more-layers-than-weights",
        "channels-no-weight-has"])
def test_an_svd_config_the_unet_cannot_be_built_from(svd_folder, tmp_path, change, says):
    folder = _svd(svd_folder, tmp_path)
    config = folder / "unet" / "config.json"
    tree = json.loads(config.read_text())
    change(tree)
    config.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match=says) as info:
        _build_svd(folder)
    assert str(info.value).startswith(f"{config}: ")


@pytest.fixture
def genxd_folder(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED, tmp_path / "genxd"))


def _genxd_config(folder: Path):
    return load_config(None, ["model.init=genxd", f"model.pretrained={folder}", f"model.vae.pretrained={folder}"])


def test_a_genxd_checkpoint_whose_config_is_not_an_object_stays_offline(genxd_folder):
    # was: diffusers took the folder for a hub id (30 s of retries offline), then a TypeError
    (genxd_folder / "unet" / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"unet/config.json: expected a JSON object"):
        build_unet(_genxd_config(genxd_folder).model)


def test_damaged_genxd_weights_name_the_file(genxd_folder):
    weights = genxd_folder / "vae" / "diffusion_pytorch_model.safetensors"
    _nan_into(weights)
    with pytest.raises(ValueError, match="vae/diffusion_pytorch_model.safetensors: the weight .* holds NaN"):
        build_vae(_genxd_config(genxd_folder).model.vae)
    weights.write_bytes(weights.read_bytes()[:1000])
    # until 2026-12-07 "vae: cannot load AutoencoderKLTemporalDecoder from this folder (OSError: Unable to load ...)"
    with pytest.raises(ValueError, match="vae/diffusion_pytorch_model.safetensors: not a readable safetensors file"):
        build_vae(_genxd_config(genxd_folder).model.vae)


def test_a_vae_config_asking_for_more_than_the_weights_hold(genxd_folder):
    config = genxd_folder / "vae" / "config.json"
    tree = json.loads(config.read_text())
    tree["block_out_channels"] = tree["block_out_channels"] * 2  # [64, 128, 128] -> six blocks
    config.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match="vae/diffusion_pytorch_model.safetensors: holds no weight"):
        build_vae(_genxd_config(genxd_folder).model.vae)


def test_a_scheduler_that_cannot_make_its_noise_levels(genxd_folder):
    config = genxd_folder / "scheduler" / "scheduler_config.json"
    tree = json.loads(config.read_text())
    tree["beta_start"] = {}  # diffusers failed building it; since 2026-12-07 refused by its declared type
    config.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match="scheduler_config.json: beta_start must be a finite number, got {}"):
        build_scheduler(str(genxd_folder))
    tree["beta_start"], tree["beta_schedule"] = 0.00085, "x"  # a string, but diffusers fails building it
    config.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match="scheduler: cannot load EulerDiscreteScheduler from this folder"):
        build_scheduler(str(genxd_folder))
    tree["beta_schedule"], tree["interpolation_type"] = "scaled_linear", "x"  # builds, cannot make its noise levels
    config.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match="scheduler_config.json: the scheduler cannot be used"):
        build_scheduler(str(genxd_folder))


def test_fuzzing_the_init_weights_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("train-init", 30, tmp_path)
