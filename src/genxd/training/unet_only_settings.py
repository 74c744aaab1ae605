"""The settings of the config sections both trainers share (``training``, ``validation``) that only ``genxd train``
reads: set in a ``genxd train-vae`` config, they were ignored without a word (``training.compile: true`` trained the
VAE uncompiled). They are refused where the user set them, in a YAML file of theirs (or one of its bases) or on the
command line, to a value other than the default; a run's own resolved ``config.yaml`` lists every setting and is
not looked at (a resumed run reads it)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .config_yaml import apply_overrides

__all__ = ["UNET_ONLY", "refuse_unet_settings"]

#: ``(section, key)`` -> what the setting does in ``genxd train``
UNET_ONLY = {("training", "compile"): "torch.compile of the UNet's forward",
             ("training", "object_loss_weight"): "the UNet's loss on moving objects",
             ("validation", "num_inference_steps"): "the validation videos' sampling steps",
             ("validation", "guidance_scale"): "the validation videos' guidance",
             ("validation", "seed"): "the validation videos' sampling noise"}


def refuse_unet_settings(cfg: Any, sources: list[dict[str, Any]], overrides: list[str]) -> None:
    """A ValueError naming the first :data:`UNET_ONLY` setting of the VAE config ``cfg`` (a ``VAETrainConfig``) that
    is not at its default and that one of ``sources`` (the user's YAML mappings) or ``overrides`` (``section.key=
    value``, each read alone: one indexing a list of the file cannot be applied to nothing) sets."""
    given = list(sources)
    for override in overrides:
        try:
            given.append(apply_overrides({}, [override]))
        except ValueError:  # data.datasets.0.length=2: a list of the file's, not one of these settings
            pass
    for (section, name), what in UNET_ONLY.items():
        value = getattr(getattr(cfg, section), name)
        default = dataclasses.asdict(type(getattr(cfg, section))())[name]
        if value == default or not any(isinstance(data.get(section), dict) and name in data[section]
                                       for data in given):
            continue
        shown = str(value).lower() if isinstance(value, bool) else value  # as YAML writes it
        raise ValueError(f"{section}.{name}: {shown} is a setting of genxd train ({what}), which genxd train-vae "
                         "does not read: leave it out")
