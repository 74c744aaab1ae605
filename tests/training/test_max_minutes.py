"""``training.max_minutes``: both training loops stop at the end of the step in which the time is up, save that
step's checkpoint, say how to resume, and return it; ``--resume latest`` then goes on from there."""

from __future__ import annotations

import json

import pytest

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd
from genxd.training.vae_trainer import train_vae

from .conftest import QUIET, TINY, TINY_VAE

#: a time limit every step overruns (the checks need max_minutes > 0)
PAST = "training.max_minutes=1e-9"


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_the_time_limit_stops_after_one_step_with_its_checkpoint_and_resumes(kind, tmp_path, capsys):
    trainer, preset = (train_genxd, TINY) if kind == "genxd" else (train_vae, TINY_VAE)
    common = [f"output_dir={tmp_path}", *QUIET, "training.max_steps=3", "training.ema.enabled=false",
              "data.datasets.0.length=4"]
    final = trainer(load_config(preset, [*common, PAST], kind=kind), cpu=True)
    assert final == tmp_path / "checkpoints" / "checkpoint-0000001" and final.is_dir()
    assert "max_minutes reached at step 1: stopping (resume with resume='latest')" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["checkpoint-0000001"]
    final = trainer(load_config(preset, common, kind=kind), resume="latest", cpu=True)  # no limit: to the end
    assert final == tmp_path / "checkpoints" / "checkpoint-0000003"
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]
