"""Both trainers refuse an EMA of the weights under FSDP, before the model is prepared, with one message.

tests/training/test_fsdp.py checks it under a real FSDP launch (CUDA only); here the run says it is sharded."""

from __future__ import annotations

import pytest

from genxd.training.config import load_config
from genxd.training.loop import TrainingRun
from genxd.training.trainer import train_genxd
from genxd.training.vae_trainer import train_vae

from .conftest import QUIET, TINY, TINY_VAE


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_ema_is_refused_when_the_run_is_sharded(kind, tmp_path, monkeypatch):
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={tmp_path / 'run'}", "data.datasets.0.length=2", "training.max_steps=1",
                       "training.ema.enabled=true"], kind=kind)
    monkeypatch.setattr(TrainingRun, "sharded", property(lambda self: True))
    train = train_genxd if kind == "genxd" else train_vae
    with pytest.raises(ValueError) as info:
        train(cfg, cpu=True)
    assert str(info.value) == "training.ema.enabled is not supported with FSDP (set training.ema.enabled=false)"
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_without_ema_a_sharded_run_is_not_refused_for_it(kind, tmp_path, monkeypatch):
    """The refusal is the EMA's: with ``training.ema.enabled=false`` the same run gets past it (to the end here:
    on one CPU process the sharded flag changes only where the model is moved)."""
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={tmp_path / 'run'}", "data.datasets.0.length=2", "training.max_steps=1",
                       "training.ema.enabled=false"], kind=kind)
    monkeypatch.setattr(TrainingRun, "sharded", property(lambda self: True))
    train = train_genxd if kind == "genxd" else train_vae
    assert train(cfg, cpu=True) is not None
