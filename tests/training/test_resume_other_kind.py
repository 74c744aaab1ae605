"""A checkpoint of the other trainer given to ``--resume`` (a ``genxd train`` checkpoint to ``genxd train-vae``, or
the reverse; or ``--resume latest`` in the other trainer's run folder) is refused before any data or model loads,
naming both kinds. It was refused only once the models were built: "CKPT is a 'genxd' checkpoint, this is a 'vae'
run"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.config import load_config

from .conftest import QUIET, TINY, TINY_VAE

_SAYS = {
    "genxd": "a checkpoint of genxd train (a GenXD model), not of genxd train-vae: resume it with genxd train, or ",
    "vae": "a checkpoint of genxd train-vae (a VAE alone), not of genxd train: resume it with genxd train-vae, or ",
}


def _checkpoint(folder: Path, kind: str) -> Path:
    """A checkpoint folder as the trainer ``kind`` leaves it, as far as resuming reads it before loading."""
    folder.mkdir(parents=True)
    (folder / "training_state.json").write_text(json.dumps({"kind": kind, "step": 1}))
    (folder / "vae").mkdir()
    if kind == "genxd":
        (folder / "unet").mkdir()
    return folder


@pytest.mark.parametrize("theirs", ["genxd", "vae"])
def test_the_command_line_names_both_kinds(tmp_path, theirs):
    ckpt = _checkpoint(tmp_path / "other" / "checkpoint-0000001", theirs)
    command, config = ("train-vae", TINY_VAE) if theirs == "genxd" else ("train", TINY)
    result = CliRunner().invoke(app, [command, str(config), f"output_dir={tmp_path / 'run'}", *QUIET,
                                      "training.max_steps=2", "--resume", str(ckpt)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("genxd:")]
    use = ("start a VAE run from its vae/ with vae.pretrained" if theirs == "genxd"
           else "use it as model.vae.pretrained of a genxd train config")
    assert errors == [f"genxd: error: {ckpt}: {_SAYS[theirs]}{use}"], result.output
    assert "parameters" not in result.output  # no model was built
    assert not (tmp_path / "run").exists()


def _no_loading(monkeypatch):
    """Data and models that fail if they are reached."""
    import genxd.training.trainer as trainer
    import genxd.training.vae_trainer as vae_trainer

    def loaded(*args, **kwargs):
        raise AssertionError("data or a model was loaded")

    for module in (trainer, vae_trainer):
        monkeypatch.setattr(module, "build_training_dataset", loaded)
        monkeypatch.setattr(module, "build_vae", loaded)


@pytest.mark.parametrize("theirs", ["genxd", "vae"])
def test_a_run_of_python_is_refused_before_data_and_models_load(tmp_path, monkeypatch, theirs):
    from genxd.training.trainer import train_genxd
    from genxd.training.vae_trainer import train_vae

    _no_loading(monkeypatch)
    ckpt = _checkpoint(tmp_path / "other" / "checkpoint-0000001", theirs)
    ours, train, config = ("vae", train_vae, TINY_VAE) if theirs == "genxd" else ("genxd", train_genxd, TINY)
    cfg = load_config(config, [*QUIET, f"output_dir={tmp_path / 'run'}"], kind=ours)
    with pytest.raises(ValueError) as caught:
        train(cfg, resume=str(ckpt), cpu=True)
    assert str(caught.value).startswith(f"{ckpt}: {_SAYS[theirs]}")


@pytest.mark.parametrize("theirs", ["genxd", "vae"])
def test_resume_latest_in_the_other_trainers_run_folder_is_refused(tmp_path, monkeypatch, theirs):
    from genxd.training.trainer import train_genxd
    from genxd.training.vae_trainer import train_vae

    _no_loading(monkeypatch)
    run = tmp_path / "run"
    ckpt = _checkpoint(run / "checkpoints" / "checkpoint-0000001", theirs)
    ours, train, config = ("vae", train_vae, TINY_VAE) if theirs == "genxd" else ("genxd", train_genxd, TINY)
    cfg = load_config(config, [*QUIET, f"output_dir={run}"], kind=ours)
    with pytest.raises(ValueError) as caught:
        train(cfg, resume="latest", cpu=True)
    command = {"genxd": "genxd train", "vae": "genxd train-vae"}
    assert str(caught.value) == (f"{ckpt} (the newest of {run}, a {command[theirs]} run's folder): {_SAYS[theirs]}"
                                 f"give {command[ours]} another output_dir")


def test_a_checkpoint_of_the_same_kind_is_not_refused_by_it(tmp_path):
    from genxd.training.checkpoint_files import other_kind_error, resume_error

    ckpt = _checkpoint(tmp_path / "checkpoint-0000001", "vae")
    assert resume_error(str(ckpt), False, "vae") is None
    assert other_kind_error(ckpt, "vae") is None
    (ckpt / "training_state.json").write_text(json.dumps({"step": 1}))  # no kind: the run's load names it
    assert other_kind_error(ckpt, "genxd") is None
