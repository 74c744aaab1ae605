"""Training configuration: YAML presets (shipped ones by name: ``genxd/configs/*.yaml``,
:mod:`genxd.training.presets`) with ``base:`` inheritance and dotted overrides.

A preset is a YAML mapping whose sections are the dataclasses of :mod:`genxd.training.config_sections` (made into
them by :mod:`genxd.training.config_mapping`), re-exported here. ``base: other.yaml`` (relative
to the preset's folder; a bare file name not there: the shipped preset of that name) merges the preset
onto another one (mappings merge key by key, anything else is replaced). Command-line overrides ``section.key=value`` (values parsed as YAML, list items by
index: ``data.datasets.0.weight=2``) are applied last (reading the YAML: :mod:`genxd.training.config_yaml`). Unknown keys are errors naming the valid ones.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..generation_settings import generation_section_error
from ..validation import Int
from .config_mapping import config_from_dict, config_to_dict
from .config_sections import (MAX_FIXED_CLIPS, MIXED_PRECISION, CheckpointConfig,  # noqa: F401 - re-exported
                              ConditioningConfig, DataConfig, EMAConfig, LoggingConfig, ModelConfig, NoiseConfig,
                              OptimConfig, ValidationConfig, VAELossConfig, VAEModelConfig)
from .config_yaml import merge_mappings, apply_overrides, load_yaml_with_bases
from .presets import resolve_config
from .unet_only_settings import refuse_unet_settings

__all__ = [
    "ModelConfig",
    "VAEModelConfig",
    "DataConfig",
    "ConditioningConfig",
    "NoiseConfig",
    "EMAConfig",
    "OptimConfig",
    "CheckpointConfig",
    "ValidationConfig",
    "LoggingConfig",
    "VAELossConfig",
    "TrainConfig",
    "VAETrainConfig",
    "load_yaml_with_bases",
    "apply_overrides",
    "load_config",
    "config_to_dict",
]


#: the largest run ``seed``: the run seeds numpy's global generator too (accelerate's ``set_seed``), which takes 32 bits
MAX_RUN_SEED = 2**32 - 1
#: the run ``seed``'s rule: an integer in 0..:data:`MAX_RUN_SEED` (numpy's words named no setting: "Seed must be
#: between 0 and 2**32 - 1"); a whole float is kept as its integer
RUN_SEED = Int(0, MAX_RUN_SEED)


@dataclass
class TrainConfig:
    """``genxd train`` (see ``docs/training.md``)."""

    output_dir: str = "outputs/genxd-train"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    #: what the checkpoints' ``generation_config.json`` says over the starting model's (``guidance_scale: 2.5``)
    generation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seed = RUN_SEED.check(self.seed, "seed")
        if (error := generation_section_error(self.generation)) is not None:
            raise error  # a misspelt key was written into every checkpoint, a bad value made them unusable


@dataclass
class VAETrainConfig:
    """``genxd train-vae``: an ``AutoencoderKLTemporalDecoder`` on clips (the temporal decoder sees
    ``data.num_frames`` frames at a time)."""

    output_dir: str = "outputs/genxd-vae"
    seed: int = 0
    vae: VAEModelConfig = field(default_factory=VAEModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: VAELossConfig = field(default_factory=VAELossConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        self.seed = RUN_SEED.check(self.seed, "seed")


#: The command that trains a config of each kind.
_COMMANDS = {"genxd": "genxd train", "vae": "genxd train-vae"}


#: the sections that make a config one trainer's: none of the other's has them
_OWN_SECTIONS = {"genxd": {"model", "conditioning", "noise"}, "vae": {"vae", "loss"}}


def _check_kind(data: dict[str, Any], path: str | os.PathLike, kind: str) -> None:
    """A ValueError naming the right command where ``data``'s sections are all the other trainer's, some are not
    ``kind``'s and one is a section of that trainer alone (:data:`_OWN_SECTIONS`; ``genxd train-vae tiny``: ``model``
    and ``conditioning`` are ``genxd train``'s). A stray section alone (``generation:`` in a VAE config) is not a
    config of the other trainer: the unknown section is said as any other."""
    classes = {"genxd": TrainConfig, "vae": VAETrainConfig}
    other = "vae" if kind == "genxd" else "genxd"
    ours, theirs = ({f.name for f in dataclasses.fields(classes[k])} for k in (kind, other))
    foreign = sorted(set(data) - ours)
    if foreign and set(data) <= theirs and set(data) & _OWN_SECTIONS[other]:
        raise ValueError(f"{path}: a config of {_COMMANDS[other]} (its section(s) {', '.join(foreign)} are "
                         f"{_COMMANDS[other]}'s, not {_COMMANDS[kind]}'s): give it to {_COMMANDS[other]}")


def load_config(path: str | os.PathLike | None, overrides: list[str] | None = None, kind: str = "genxd") -> Any:
    """A :class:`TrainConfig` (``kind="genxd"``) or :class:`VAETrainConfig` (``kind="vae"``) from a YAML
    file or the name of a shipped preset (``"tiny"``; :func:`~genxd.training.presets.resolve_config`; None:
    defaults) and overrides."""
    cls = {"genxd": TrainConfig, "vae": VAETrainConfig}.get(kind)
    if cls is None:
        raise ValueError(f"kind must be 'genxd' or 'vae', got {kind!r}")
    if path is not None:
        path = resolve_config(path, kind)
    layers: list[tuple[Path, dict[str, Any]]] = []
    own = load_yaml_with_bases(path, layers=layers) if path is not None else {}
    if path is not None:
        _check_kind(own, path, kind)
    from_file = merge_mappings(config_to_dict(cls()), own)
    data = apply_overrides(from_file, list(overrides or []))
    try:
        cfg = config_from_dict(cls, data, "")
        _warn_unused_vae_config(cfg, kind, layers, list(overrides or []))
        if kind == "vae":  # set by the user, not by a run's own config.yaml (it lists every setting)
            refuse_unet_settings(cfg, [data for p, data in layers if not _written_by_genxd(p)],
                                 list(overrides or []))
        return cfg
    except ValueError as exc:
        if path is None or str(path) in str(exc):
            raise
        if overrides:  # an override's own error names the setting only (the file is fine without it)
            try:
                config_from_dict(cls, from_file, "")
            except ValueError:
                pass
            else:
                raise
        # a value of the file (or of one of its bases): the message names the file
        raise ValueError(f"{path}: {exc}") from None


def _written_by_genxd(path: Path) -> bool:
    """Whether ``path`` is a run's resolved ``config.yaml`` (its first line :data:`~genxd.training.checkpoint_files.
    CONFIG_MARK`): every setting of it is there, set by the user or not."""
    from .checkpoint_files import CONFIG_MARK

    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return fh.readline().rstrip() == CONFIG_MARK
    except OSError:
        return False


#: where each trainer's config has its VAE section
_VAE_SECTION = {"genxd": ("model", "vae"), "vae": ("vae",)}


def _warn_unused_vae_config(cfg: Any, kind: str, layers: list[tuple[Path, dict[str, Any]]],
                            overrides: list[str]) -> None:
    """A warning when the VAE section's ``config`` goes unused because a folder is loaded (with its own config):
    its ``pretrained``, else for ``genxd train`` with ``model.init`` genxd / svd the VAE of ``model.pretrained``; and
    one source set both: one YAML file (less its bases) or the command line's overrides. A preset's ``config`` with
    a folder of another source (``genxd train-vae tiny_vae vae.pretrained=DIR``: fine-tune DIR) is the way to start
    from a folder, and not warned of."""
    name = ".".join(_VAE_SECTION[kind])
    vae = cfg.model.vae if kind == "genxd" else cfg.vae
    from_model = kind == "genxd" and not vae.pretrained and cfg.model.init in ("genxd", "svd")
    if not vae.config or not (vae.pretrained or from_model):
        return
    sources: list[tuple[str, Any]] = [(f"in {p}", data) for p, data in layers if not _written_by_genxd(p)]
    try:
        sources.append(("on the command line", apply_overrides({}, overrides)))
    except ValueError:  # overrides that only apply onto the file's values: none sets the whole section
        pass
    for where, data in sources:
        section: Any = data
        for key in _VAE_SECTION[kind]:
            section = section.get(key) if isinstance(section, dict) else None
        if not (isinstance(section, dict) and section.get("config")):
            continue
        model = data.get("model")
        if vae.pretrained and section.get("pretrained"):
            loaded = f"{name}.pretrained ({vae.pretrained})"
        elif from_model and isinstance(model, dict) and model.get("pretrained"):
            loaded = f"the VAE of model.pretrained ({cfg.model.pretrained}, model.init={cfg.model.init})"
        else:
            continue
        from ..validation import warn

        warn(f"{name}.config is not used: {loaded} is loaded with its own config (both are set {where}; leave one "
             "out)")
        return
