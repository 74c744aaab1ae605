"""The refusals about a run's checkpoints name ``train_genxd``'s arguments from Python (``resume='latest'``,
``overwrite=True``) and the command line's options from ``genxd train`` (``--resume latest``, ``--overwrite``).
Found by the caller-wording audit: they said ``--resume`` / ``--overwrite`` to Python callers."""

from __future__ import annotations

import pytest

from genxd.training.checkpoint_files import damaged_checkpoint_error, existing_run_error, foreign_config_error, resume_error
from genxd.validation import cli_style

from .conftest import checkpoint_folder


def test_resume_setting_as_the_caller_writes_it(tmp_path):
    from genxd.training.checkpoint_files import resume_setting

    assert resume_setting("latest") == "resume='latest'"
    assert resume_setting(tmp_path) == f"resume={str(tmp_path)!r}"
    with cli_style():
        assert resume_setting("latest") == "--resume latest"


def test_an_existing_run_names_resume_and_overwrite(tmp_path):
    checkpoint_folder(tmp_path, 10)
    message = str(existing_run_error(tmp_path))
    assert message.endswith("(newest checkpoint-0000010); pass resume='latest' to continue, or overwrite=True to "
                            "start over"), message
    with cli_style():
        message = str(existing_run_error(tmp_path))
    assert message.endswith("pass --resume latest to continue, or --overwrite to start over"), message


def test_resume_refusals_name_the_argument():
    assert str(resume_error("latest", True)).startswith(
        "resume='latest' and overwrite=True contradict: resume continues from a checkpoint, overwrite deletes")
    assert str(resume_error(" ", False)) == "resume is empty: pass 'latest' or a checkpoint folder"
    with cli_style():
        assert str(resume_error("latest", True)).startswith(
            "--resume latest and --overwrite contradict: --resume continues from a checkpoint, --overwrite deletes")
        assert str(resume_error("", False)) == "--resume is empty: pass 'latest' or a checkpoint folder"


def test_a_foreign_config_and_a_damaged_checkpoint_say_how_to_go_on(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    assert str(foreign_config_error(tmp_path, None)).endswith("or pass overwrite=True to replace it")
    with cli_style():
        assert str(foreign_config_error(tmp_path, None)).endswith("or pass --overwrite to replace it")
    earlier = checkpoint_folder(tmp_path / "run", 10)
    damaged = checkpoint_folder(tmp_path / "run", 20)
    message = str(damaged_checkpoint_error(damaged, "ema.safetensors", OSError("truncated")))
    assert message.endswith(f"; resume from the one before it: resume={str(earlier)!r}"), message
    with cli_style():
        message = str(damaged_checkpoint_error(damaged, "ema.safetensors", OSError("truncated")))
    assert message.endswith(f"; resume from the one before it: --resume {earlier}"), message


def test_a_python_run_refuses_resume_with_overwrite_in_its_terms(tmp_path):
    from genxd.training.config import load_config
    from genxd.training.loop import TrainingRun

    from .conftest import QUIET, TINY

    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false"])
    with pytest.raises(ValueError, match=r"^resume='latest' and overwrite=True contradict"):
        TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "genxd",
                    resume="latest", overwrite=True, cpu=True)


@pytest.mark.parametrize("saved", ["\ufeff{mark}\r\nseed: 1\r\n", "\ufeff{mark}\nseed: 1\n", "{mark}\r\nseed: 1\r\n",
                                   "{mark} \nseed: 1\n"], ids=["bom-crlf", "bom", "crlf", "trailing-space"])
def test_a_genxd_config_saved_again_by_a_windows_editor_is_still_genxds(tmp_path, saved):
    """The config.yaml a run wrote, saved again by an editor (Notepad's UTF-8 with a byte order mark, CRLF line ends):
    a fresh run in the folder took it for the user's and refused ('... was not written by genxd train')."""
    from genxd.training.checkpoint_files import CONFIG_MARK

    with open(tmp_path / "config.yaml", "w", encoding="utf-8", newline="") as fh:
        fh.write(saved.format(mark=CONFIG_MARK))
    assert foreign_config_error(tmp_path, None) is None
    (tmp_path / "config.yaml").write_text("\ufeff# my notes\n" + CONFIG_MARK + "\n")  # the mark only as line 1
    assert foreign_config_error(tmp_path, None) is not None


def test_resuming_a_model_folder_says_how_to_start_from_it(tmp_path):
    """A pipeline folder (what genxd generate --model reads) given to --resume: 'not a training checkpoint' alone; it
    names the settings that start a new run from its weights (genxd train-vae: those of its VAE)."""
    model = tmp_path / "model"
    for part in ("unet", "vae", "scheduler"):
        (model / part).mkdir(parents=True)
    assert str(resume_error(str(model), False, "genxd")) == (
        f"{model}: not a training checkpoint (no training_state.json; it is a model folder: to fine-tune from it, "
        f"start a new run with model.init=genxd model.pretrained={model})")
    assert str(resume_error(str(model), False, "vae")).endswith(
        f"it is a model folder: to train on from its VAE, start a new run with vae.pretrained={model})")
    assert str(resume_error(str(tmp_path), False, "genxd")) == f"{tmp_path}: not a training checkpoint (no training_state.json)"


def test_resume_takes_a_run_folders_checkpoints_latest_as_its_newest_checkpoint(tmp_path):
    """RUN/checkpoints/latest, as genxd generate --model and model.pretrained take it: the newest complete checkpoint
    (it was 'no such checkpoint folder'); none there is said as such."""
    from genxd.training.checkpoint_files import resume_path

    run = tmp_path / "run"
    assert str(resume_error(str(run / "checkpoints" / "latest"), False, "genxd")) == (
        f"{run / 'checkpoints' / 'latest'}: no such checkpoint folder")
    (run / "checkpoints").mkdir(parents=True)
    assert str(resume_error(str(run / "checkpoints" / "latest"), False, "genxd")) == (
        f"{run / 'checkpoints' / 'latest'}: no checkpoint in {run / 'checkpoints'} to take as the latest")
    for step in (9, 10):
        checkpoint_folder(run, step)
    (run / "checkpoints" / "checkpoint-0000011").mkdir()  # cut short: no training_state.json
    assert resume_path(str(run / "checkpoints" / "latest")) == run / "checkpoints" / "checkpoint-0000010"
    assert resume_error(str(run / "checkpoints" / "latest"), False, None) is None
    assert resume_path(str(run / "checkpoints" / "checkpoint-0000009")) == run / "checkpoints" / "checkpoint-0000009"
