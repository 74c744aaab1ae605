"""Fuzz target: the pretrained weights ``genxd train`` starts from (:mod:`genxd.training.models`).

``train-init``: ``model.init=svd`` on a Stable Video Diffusion UNet folder (a tiny one, single and sharded
safetensors), and ``model.init=genxd`` with ``model.vae.pretrained`` and the scheduler on a GenXD model folder (a
copy of the bundled model): :func:`~genxd.training.models.build_unet`, :func:`~genxd.training.models.build_vae`,
:func:`~genxd.training.models.build_scheduler`. JSON files are mutated as JSON trees (and sometimes as bytes),
the weights as bytes. What is built must hold finite weights.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from fuzz_mutations import mutate_copy
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]

REPO = Path(__file__).resolve().parents[1]
ALLOWED = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError)


def _init_seeds(folder: Path) -> list[Path]:
    import torch
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(0)
    # the smallest SVD layout (as tests/training/conftest.py's tiny_svd_unet: benchmarks do not import tests)
    svd = UNetSpatioTemporalConditionModel(
        sample_size=8, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 32), addition_time_embed_dim=32, projection_class_embeddings_input_dim=96,
        layers_per_block=1, cross_attention_dim=64, num_attention_heads=(1, 1), num_frames=4,
    )
    svd.save_pretrained(folder / "svd" / "unet")
    svd.save_pretrained(folder / "svd_sharded" / "unet", max_shard_size="200KB")
    genxd = folder / "genxd"
    shutil.copytree(REPO / "src" / "genxd" / "assets" / "genxd-small", genxd)
    return [folder / "svd", folder / "svd_sharded", genxd]


def _mutate_init(rng: random.Random, seed: Path, dest: Path) -> str:
    def kind(path: Path) -> str:
        if path.suffix == ".json":
            return "json" if rng.random() < 0.8 else "bytes"
        return "bytes"

    # the files the builders read: configs, safetensors (and their index)
    return mutate_copy(rng, seed, dest, kind=kind,
                       pick=lambda p: p.suffix in (".json", ".safetensors") and p.name != "generation_config.json")


def build_and_check(path: Path) -> None:
    import torch

    from genxd.training.config import load_config
    from genxd.training.models import build_scheduler, build_unet, build_vae

    if path.name.startswith("svd"):
        cfg = load_config(None, ["model.init=svd", f"model.pretrained={path}"])
        modules = [build_unet(cfg.model)[0]]
    else:
        cfg = load_config(None, ["model.init=genxd", f"model.pretrained={path}", f"model.vae.pretrained={path}"])
        modules = [build_unet(cfg.model)[0], build_vae(cfg.model.vae)]
        scheduler = build_scheduler(str(path))
        scheduler.set_timesteps(5)
        if not bool(torch.isfinite(scheduler.sigmas).all()):
            raise AssertionError(f"{path}: built, but the scheduler's noise levels are not finite")
    for module in modules:
        bad = [n for n, p in module.named_parameters() if not bool(torch.isfinite(p).all())]
        if bad:
            raise AssertionError(f"{path}: built, but {bad[0]} holds NaN or infinite values")


TARGETS = [
    FuzzTarget("train-init", "pretrained weights genxd train starts from: SVD UNet folders (single, sharded) for "
               "model.init=svd, a GenXD model folder for model.init=genxd, its VAE and scheduler",
               _init_seeds, _mutate_init, build_and_check, allowed=ALLOWED),
]
