"""``model.allow_pickle``: ``genxd train`` starting from folders whose weights are pickle files only
(``diffusion_pytorch_model.bin``): refused naming the config key, read once it is set (unpickling can run code)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKLTemporalDecoder
from typer.testing import CliRunner

from genxd.cli import app
from genxd.models import UNetMVTemporalConditionModel
from genxd.training.config import load_config
from genxd.training.models import build_unet
from genxd.training.trainer import train_genxd
from tests.helpers import ROOT

from .conftest import QUIET, TINY, TINY_VAE, tiny_svd_unet

BUNDLED = ROOT / "src" / "genxd" / "assets" / "genxd-small"
SHORT = [*QUIET, "data.datasets.0.length=2", "training.batch_size=1", "training.max_steps=1",
         "training.ema.enabled=false"]
REFUSAL = (r"only pickle weights \(diffusion_pytorch_model\.bin\); set model\.allow_pickle=true to load them "
           r"\(unpickling can run code")


def _pickled(folder: Path) -> Path:
    """``folder``'s UNet and VAE saved again as pickle files only (diffusers' safe_serialization=False)."""
    for component, cls in (("unet", UNetMVTemporalConditionModel), ("vae", AutoencoderKLTemporalDecoder)):
        model = cls.from_pretrained(folder / component)
        (folder / component / "diffusion_pytorch_model.safetensors").unlink()
        model.save_pretrained(folder / component, safe_serialization=False)
    return folder


def test_genxd_init_from_pickle_weights_names_the_config_key_and_loads_with_it(tmp_path):
    """genxd train had no way to read a .bin-only checkpoint; the refusal said 'use --allow-pickle' (an option of
    genxd generate, not of genxd train) or 'pass allow_pickle=True'."""
    folder = _pickled(Path(shutil.copytree(BUNDLED, tmp_path / "genxd")))
    start = ["model.init=genxd", f"model.pretrained={folder}"]
    with pytest.raises(FileNotFoundError, match=rf"unet/diffusion_pytorch_model\.safetensors: no such file, {REFUSAL}"):
        build_unet(load_config(None, start).model)
    unet, _ = build_unet(load_config(None, [*start, "model.allow_pickle=true"]).model)
    plain = UNetMVTemporalConditionModel.from_pretrained(BUNDLED / "unet").state_dict()
    assert unet.state_dict().keys() == plain.keys()
    assert all(torch.equal(unet.state_dict()[k], plain[k]) for k in plain)


def test_a_training_run_reads_the_pickle_unet_and_vae_only_with_allow_pickle(tmp_path):
    parent = _pickled(train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'parent'}"]), cpu=True))
    child = [*SHORT, f"output_dir={tmp_path / 'child'}", "model.init=genxd", f"model.pretrained={parent}",
             "model.unet={}"]
    with pytest.raises(FileNotFoundError, match=REFUSAL):
        train_genxd(load_config(TINY, child), cpu=True)
    done = train_genxd(load_config(TINY, [*child, "model.allow_pickle=true"]), cpu=True)
    assert (done / "unet" / "diffusion_pytorch_model.safetensors").is_file()  # saved as safetensors


def test_svd_init_from_pickle_weights(tmp_path):
    """load_svd_state_dict read safetensors only ('pickle .bin files are not read'), with no way to ask."""
    svd = tiny_svd_unet()
    svd.save_pretrained(tmp_path / "svd" / "unet", safe_serialization=False)
    svd.save_pretrained(tmp_path / "plain" / "unet")
    start = ["model.init=svd", f"model.pretrained={tmp_path / 'svd'}"]
    with pytest.raises(FileNotFoundError, match=r"svd/unet: no diffusion_pytorch_model\(\.fp16\)\.safetensors, "
                                                + REFUSAL):
        build_unet(load_config(None, start).model)
    torch.manual_seed(0)
    pickled, _ = build_unet(load_config(None, [*start, "model.allow_pickle=true"]).model)
    torch.manual_seed(0)
    plain, _ = build_unet(load_config(None, ["model.init=svd", f"model.pretrained={tmp_path / 'plain'}"]).model)
    ours, theirs = pickled.state_dict(), plain.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_train_vae_reads_a_pickle_vae_only_with_vae_allow_pickle(tmp_path):
    """genxd train-vae had no way to start from a .bin-only VAE folder, and its refusal said 'use --allow-pickle',
    an option genxd train-vae does not have."""
    folder = tmp_path / "vae"
    AutoencoderKLTemporalDecoder.from_pretrained(BUNDLED / "vae").save_pretrained(folder, safe_serialization=False)
    run = [str(TINY_VAE), *QUIET, "training.max_steps=1", "training.batch_size=1", "data.datasets.0.length=2",
           "loss.scale_samples=1", f"vae.pretrained={folder}", "vae.config=null"]
    refused = CliRunner().invoke(app, ["train-vae", *run, f"output_dir={tmp_path / 'refused'}"])
    assert refused.exit_code != 0
    assert re.search(r"^genxd: error: .*; set vae\.allow_pickle=true to load them \(unpickling can run code",
                     refused.output, re.M), refused.output
    done = CliRunner().invoke(app, ["train-vae", *run, f"output_dir={tmp_path / 'run'}", "vae.allow_pickle=true"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-0000001" / "vae" / "diffusion_pytorch_model.safetensors").is_file()
