"""A network config's channels checked against the group count of its GroupNorm layers, before the network is
built: diffusers' ``AutoencoderKLTemporalDecoder`` and GenXD's UNet normalise every block's channels in 32 groups
(a count neither class takes as a setting), so each ``block_out_channels`` entry must be a multiple of 32. Torch
refused any other in its own words when the layer was built ("num_channels (48) must be divisible by num_groups
(32)"), naming neither the config nor the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["GROUP_NORM_GROUPS", "check_group_norm_channels"]

#: the group count of the GroupNorm layers of the VAE and the UNet (diffusers' and GenXD's blocks fix it)
GROUP_NORM_GROUPS = 32


def check_group_norm_channels(where: str | Path, config: dict[str, Any], network: str) -> None:
    """A ValueError naming ``where`` (a config file, or a training config's section such as ``vae.config``) when a
    ``block_out_channels`` entry of ``config`` is not a multiple of :data:`GROUP_NORM_GROUPS`, or ``config`` sets a
    ``norm_num_groups`` (``network``, the class built from it, takes none: it was a TypeError or an unknown key).
    Values of other types are left to the type checks."""
    if "norm_num_groups" in config:
        raise ValueError(f"{where}: norm_num_groups is not a setting of {network}: its GroupNorm layers have "
                         f"{GROUP_NORM_GROUPS} groups (block_out_channels must be multiples of {GROUP_NORM_GROUPS})")
    channels = config.get("block_out_channels")
    if not isinstance(channels, (list, tuple)):
        return
    for c in channels:
        if isinstance(c, int) and not isinstance(c, bool) and c > 0 and c % GROUP_NORM_GROUPS:
            raise ValueError(f"{where}: block_out_channels = {list(channels)!r:.200}: {c} channels do not divide "
                             f"into the {GROUP_NORM_GROUPS} groups of {network}'s GroupNorm layers (each entry must "
                             f"be a multiple of {GROUP_NORM_GROUPS})")
