"""A model folder whose UNet does not take and predict its VAE's latents (a VAE of another model, 8 latent
channels) is refused at load, naming the configs; before, it loaded and the first generation ended in a
traceback ("The size of tensor a (4) must match the size of tensor b (8)")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_model
from genxd.component_fit import check_latent_channels

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"


@pytest.fixture
def folder_with_an_8_channel_vae(tmp_path) -> Path:
    """The bundled model with a VAE of 8 latent channels (weights that fit its config)."""
    from diffusers import AutoencoderKLTemporalDecoder

    folder = Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))
    config = json.loads((folder / "vae" / "config.json").read_text())
    config.update(latent_channels=8, block_out_channels=[32], down_block_types=["DownEncoderBlock2D"])
    shutil.rmtree(folder / "vae")
    torch_config = {k: v for k, v in config.items() if not k.startswith("_")}
    AutoencoderKLTemporalDecoder.from_config(torch_config).save_pretrained(folder / "vae")
    return folder


def test_a_vae_of_other_latents_is_refused_at_load(folder_with_an_8_channel_vae):
    folder = folder_with_an_8_channel_vae
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == (f"{folder / 'unet' / 'config.json'}: out_channels = 4, but the VAE's latents have 8 "
                               f"channels (latent_channels of {folder / 'vae' / 'config.json'}): a UNet and a VAE of "
                               "different models")


def test_generate_says_it_in_one_line_and_writes_nothing(folder_with_an_8_channel_vae, tmp_path):
    from genxd.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "--model", str(folder_with_an_8_channel_vae), "-o",
                                   str(out), "--steps", "1", "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert [line for line in res.stderr.splitlines() if line.startswith("genxd: ")] == [
        f"genxd: error: {folder_with_an_8_channel_vae / 'unet' / 'config.json'}: out_channels = 4, but the VAE's "
        f"latents have 8 channels (latent_channels of {folder_with_an_8_channel_vae / 'vae' / 'config.json'}): a UNet "
        "and a VAE of different models"]
    assert "Traceback" not in res.stderr
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("unet, vae, says", [
    ({"in_channels": 15, "out_channels": 4}, {"latent_channels": 4}, None),  # the released / bundled layout
    ({}, {}, None),  # the classes' defaults
    ({"in_channels": 23, "out_channels": 8}, {"latent_channels": 8}, None),
    ({"in_channels": 16, "out_channels": 4}, {"latent_channels": 4},
     r"unet.json: in_channels = 16, but GenXD's UNet takes 2 x 4 latent channels \(latent_channels of .*vae.json\), "
     r"6 of rays and a mask: 15"),
])
def test_the_unet_takes_two_latents_rays_and_a_mask(tmp_path, unet, vae, says):
    (tmp_path / "unet.json").write_text(json.dumps(unet))
    (tmp_path / "vae.json").write_text(json.dumps(vae))
    if says is None:
        check_latent_channels(tmp_path / "unet.json", tmp_path / "vae.json")
    else:
        with pytest.raises(ValueError, match=says):
            check_latent_channels(tmp_path / "unet.json", tmp_path / "vae.json")


def test_a_unet_without_rays_takes_the_latents_and_the_mask_alone():
    """``ray_condition: false`` (the pipeline passes no rays: tests/pipelines/test_pipeline_branches.py) takes
    2 x latents + 1 channels; the check refused it (it counted 6 ray channels always), and with it such a model's
    loading and training, since the check was added the same day."""
    from genxd.component_fit import check_latent_channels_of

    check_latent_channels_of({"ray_condition": False, "in_channels": 9, "out_channels": 4}, {"latent_channels": 4},
                             "u", "v")
    with pytest.raises(ValueError, match=r"in_channels = 15, .* and a mask \(ray_condition: false, no rays\): 9$"):
        check_latent_channels_of({"ray_condition": False, "in_channels": 15, "out_channels": 4},
                                 {"latent_channels": 4}, "u", "v")
    with pytest.raises(ValueError, match=r"6 of rays and a mask: 15$"):
        check_latent_channels_of({"in_channels": 9, "out_channels": 4}, {"latent_channels": 4}, "u", "v")
