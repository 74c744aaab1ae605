"""How the components of a model folder fit each other, from their configs (nothing is built or loaded): the UNet takes
and predicts the VAE's latents (:func:`check_latent_channels`), and the scheduler predicts what the UNet does
(:func:`check_prediction_type`). Each a ValueError naming the config at fault."""

from __future__ import annotations

from pathlib import Path

from .utils.json_files import read_json

__all__ = ["check_latent_channels", "check_latent_channels_of", "check_prediction_type"]


def read_config(path: Path) -> dict:
    """A model config file as a dict; a ValueError naming it when it is not a readable JSON object."""
    data = read_json(path, "a model config (JSON)")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def check_prediction_type(scheduler_config: Path) -> None:
    """A ValueError naming the scheduler config unless it predicts ``v_prediction``, as GenXD's UNet does (else
    every generation failed, the input named and not the config)."""
    config = read_config(scheduler_config)
    prediction = config.get("prediction_type", "epsilon")  # EulerDiscreteScheduler's default
    if prediction != "v_prediction":
        raise ValueError(f"{scheduler_config}: prediction_type = {prediction!r:.80}, but GenXD's UNet predicts "
                         "'v_prediction'" + ("" if "prediction_type" in config else
                                             " (the key is left out: EulerDiscreteScheduler's default 'epsilon')"))


#: the UNet's input channels besides the two latents' (noisy, context): 6 of Plücker rays and the context mask;
#: a UNet of ``ray_condition: false`` takes the mask alone (the pipeline then passes no rays)
_CONDITION_CHANNELS = 7
_MASK_CHANNELS = 1


def check_latent_channels(unet_config: Path, vae_config: Path) -> None:
    """A ValueError naming the config that does not fit when the UNet does not take and predict the VAE's latents:
    ``out_channels`` = the VAE's ``latent_channels`` and ``in_channels`` = twice those plus
    :data:`_CONDITION_CHANNELS` (:meth:`~genxd.pipelines.conditioning.GenXDConditions.unet_input`), or plus the mask
    alone for a UNet of ``ray_condition: false``. Before, a VAE
    of 8 latent channels beside the bundled UNet loaded, and the first generation ended in "The size of tensor a (4)
    must match the size of tensor b (8)"."""
    check_latent_channels_of(read_config(unet_config), read_config(vae_config), unet_config, vae_config)


def check_latent_channels_of(unet: dict, vae: dict, unet_source: str | Path, vae_source: str | Path) -> None:
    """:func:`check_latent_channels` of configs already read (``genxd train``'s: a YAML section such as
    ``model.unet`` or a folder's ``config.json``), each named in the ValueError by its ``*_source``."""
    latent = vae.get("latent_channels", 4)  # the classes' defaults where the key is left out
    out, given = unet.get("out_channels", 4), unet.get("in_channels", 15)
    if out != latent:
        raise ValueError(f"{unet_source}: out_channels = {out}, but the VAE's latents have {latent} channels "
                         f"(latent_channels of {vae_source}): a UNet and a VAE of different models")
    rays = unet.get("ray_condition", True) is not False  # the UNet class's default: true
    expected = 2 * latent + (_CONDITION_CHANNELS if rays else _MASK_CHANNELS)
    if given != expected:
        what = "6 of rays and a mask" if rays else "and a mask (ray_condition: false, no rays)"
        raise ValueError(f"{unet_source}: in_channels = {given}, but GenXD's UNet takes 2 x {latent} latent channels "
                         f"(latent_channels of {vae_source}), {what}: {expected}")
