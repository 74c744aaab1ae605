"""Training turns TF32 on for its own duration on CUDA and puts the caller's flags back (genxd.pipelines.tf32.with_training_tf32):
``TrainingRun`` set both flags process-wide and left them on, after a finished run and after a refused one."""

from __future__ import annotations

import pytest
import torch

from genxd.training.config import load_config

from ..conftest import tf32_flags
from .conftest import QUIET, TINY, TINY_VAE


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_a_training_run_leaves_the_callers_tf32_flags_as_they_were(tmp_path, monkeypatch, tf32_off, kind):
    """A run refused after it started (a size the VAE cannot take, checked once the run's folder exists), on a
    machine that says it has CUDA: the flags were on inside the run, and off again after it."""
    from genxd.training import loop
    from genxd.training.trainer import train_genxd
    from genxd.training.vae_trainer import train_vae

    seen: list[tuple[bool, bool]] = []
    started = loop.TrainingRun.__init__

    def init(self, *args, **kwargs):
        started(self, *args, **kwargs)
        seen.append(tf32_flags())

    monkeypatch.setattr(loop.TrainingRun, "__init__", init)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false", "data.height=36"],
                      kind=kind)
    with pytest.raises(ValueError, match="multiples of"):
        (train_genxd if kind == "genxd" else train_vae)(cfg, cpu=True)
    assert seen == [(True, True)]  # TF32 during the run, as training.allow_tf32 (the default) asks
    assert tf32_flags() == (False, False)


def test_allow_tf32_false_leaves_them_off(tmp_path, monkeypatch, tf32_off):
    from genxd.training import loop
    from genxd.training.trainer import train_genxd

    seen: list[tuple[bool, bool]] = []
    started = loop.TrainingRun.__init__
    monkeypatch.setattr(loop.TrainingRun, "__init__", lambda self, *a, **k: (started(self, *a, **k),
                                                                             seen.append(tf32_flags()))[0])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false", "data.height=36",
                             "training.allow_tf32=false"])
    with pytest.raises(ValueError, match="multiples of"):
        train_genxd(cfg, cpu=True)
    assert seen == [(False, False)] and tf32_flags() == (False, False)  # off during the run too
