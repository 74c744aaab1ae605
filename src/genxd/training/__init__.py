"""GenXD training: mixed 3D/4D data, v-prediction with masked latent conditions, accelerate.

- :mod:`genxd.training.config`: YAML presets and overrides (its sections: :mod:`genxd.training.config_sections`);
- :mod:`genxd.training.presets`: the shipped presets (``genxd/configs/``), found by name (``tiny``);
- :mod:`genxd.training.objective`: noise levels, v-target, per-sample draws, the loss;
- :mod:`genxd.training.models`: building/initialising the UNet (scratch, GenXD, Stable Video Diffusion);
- :mod:`genxd.training.trainer` / :mod:`genxd.training.vae_trainer`: ``genxd train`` / ``genxd train-vae``.

See ``docs/training.md``.
"""

from .config import TrainConfig, VAETrainConfig, load_config

__all__ = [
    "TrainConfig",
    "VAETrainConfig",
    "load_config",
    "train_genxd",
    "train_vae",
    "genxd_loss",
    "draw_sample",
    "sample_seed",
    "v_target",
    "denoised_from_v",
    "c_in",
    "c_noise",
]


_OBJECTIVE = {"c_in", "c_noise", "denoised_from_v", "draw_sample", "genxd_loss", "sample_seed", "v_target"}


def __getattr__(name: str):  # the objective imports diffusers, the trainers accelerate: loaded on first use
    if name in _OBJECTIVE:
        from . import objective

        return getattr(objective, name)
    if name == "train_genxd":
        from .trainer import train_genxd

        return train_genxd
    if name == "train_vae":
        from .vae_trainer import train_vae

        return train_vae
    raise AttributeError(name)
