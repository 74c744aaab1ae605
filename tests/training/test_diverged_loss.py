"""A run whose loss becomes NaN (a learning rate far too high): one error line naming the step and the last checkpoint
from before it, and no checkpoint saved after it (genxd.training.stops.RunStops.raise_if_diverged)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.checkpoint_files import list_checkpoints

from .conftest import QUIET, TINY, TINY_VAE


@pytest.mark.parametrize("command, config", [("train", TINY), ("train-vae", TINY_VAE)])
def test_a_diverged_run_is_one_line_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, command, config):
    """A checkpoint every step, the loss logged every 6: the loss was checked only where it was logged, so the
    checkpoints of the steps after it became NaN were saved, checkpoint.total_limit pruned every good one, and the
    run ended in a FloatingPointError traceback. Now every checkpoint checks the steps not logged yet: the run stops
    at the first checkpoint after the NaN with one line naming the one before it, which stays. (train-vae: its latent
    scaling factor, NaN from step 1 at this learning rate, is taken as 1 here: the next test checks it.)"""
    if command == "train-vae":
        monkeypatch.setattr("genxd.training.vae_trainer.measure_scaling_factor", lambda vae, clips: 1.0)
    run = tmp_path / "run"
    result = CliRunner().invoke(app, [command, str(config), f"output_dir={run}", *QUIET, "logging.every_steps=6",
                                      "checkpoint.every_steps=1", "checkpoint.total_limit=2", "training.max_steps=6",
                                      "data.datasets.0.length=4", "training.learning_rate=1e30"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    found = re.search(r"the loss is (nan|inf|-inf) at step (\d+): the training diverged", errors[0])
    assert found is not None, errors[0]
    kept = list_checkpoints(run / "checkpoints")
    assert kept and all(int(c.name.rpartition("-")[2]) < int(found.group(2)) for c in kept), (kept, errors[0])
    assert f"the last checkpoint, {kept[-1]}, is from before it" in errors[0]
    assert errors[0].endswith(f"--resume {kept[-1]}")


def test_a_run_diverged_before_its_first_checkpoint_says_none_was_saved(tmp_path):
    """No checkpoint yet: said, with the learning rate to lower (it was a traceback)."""
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={run}", *QUIET, "training.max_steps=3",
                                      "data.datasets.0.length=4", "training.learning_rate=1e30"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and errors[0].endswith(
        "no checkpoint was saved: start again with a lower training.learning_rate (now 1e+30)"), result.output
    assert list_checkpoints(run / "checkpoints") == []


def test_a_vae_whose_latents_are_not_finite_is_not_saved(tmp_path):
    """train-vae: weights that encode to NaN after step 1 (its loss still finite) gave checkpoint-0000001 a vae/ whose
    latent scaling factor was NaN, saved; the run ended at the next logged loss in a traceback. Now that
    checkpoint is refused as a diverged run's, in one line."""
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train-vae", str(TINY_VAE), f"output_dir={run}", *QUIET, "logging.every_steps=6",
                                      "checkpoint.every_steps=1", "training.max_steps=6", "data.datasets.0.length=4",
                                      "training.learning_rate=1e30"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert re.search(r"the latent scaling factor is (nan|0\.0) at step 1 \(latents not finite\): the training "
                     r"diverged .*; no checkpoint was saved", errors[0]), errors[0]
    assert list_checkpoints(run / "checkpoints") == []
