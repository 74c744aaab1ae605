"""``genxd train`` refuses bad settings with one line naming the setting as written and the value given, before
the trainer and its libraries are imported (an import of it fails in these tests)."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.checkpoint_files import output_dir_error, resume_error
from genxd.training.config import load_config
from genxd.training.data import loader_workers

from .conftest import QUIET, TINY


def _train(args: list[str], monkeypatch, command: str = "train"):
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "genxd.training.trainer", None)  # the checks come before the trainer's imports
        m.setitem(sys.modules, "genxd.training.vae_trainer", None)
        return CliRunner().invoke(app, [command, *[str(a) for a in args]])


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error: "), result.output
    assert "Traceback" not in result.output
    return lines[0][len("genxd: error: "):]


@pytest.mark.parametrize("override, expected", [
    ("training.max_steps=-5", "training.max_steps must be an integer >= 1, got -5"),
    ("training.max_steps=0", "training.max_steps must be an integer >= 1, got 0"),  # wrote an untrained checkpoint
    ("training.batch_size=0", "training.batch_size must be an integer >= 1, got 0"),
    ("training.gradient_accumulation_steps=-1", "training.gradient_accumulation_steps must be an integer >= 1, got -1"),
])
def test_bad_counts_name_the_setting_and_the_value(tmp_path, monkeypatch, override, expected):
    line = _error_line(_train([TINY, f"output_dir={tmp_path / 'run'}", override], monkeypatch))
    assert line == expected
    assert not (tmp_path / "run").exists()


def test_train_vae_names_the_setting_too(tmp_path, monkeypatch):
    vae = TINY.parent / "tiny_vae.yaml"
    for steps in (-5, 0):  # 0 wrote an untrained checkpoint-0000000
        line = _error_line(_train([vae, f"output_dir={tmp_path / 'run'}", f"training.max_steps={steps}"], monkeypatch,
                                  command="train-vae"))
        assert line == f"training.max_steps must be an integer >= 1, got {steps}"
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command, preset", [("train", TINY), ("train-vae", TINY.parent / "tiny_vae.yaml")])
def test_print_config_refuses_a_misspelt_dataset_option(tmp_path, monkeypatch, command, preset):
    """--print-config printed ``data.datasets.0.lenght`` without a word; training refused it as the datasets were
    built. Now refused as the config is read, in the words of then, before any dataset module is imported."""
    with monkeypatch.context() as m:
        for name in ("genxd.data.datasets", "genxd.data.datasets.mixture"):  # no dataset is built, nor its module read
            m.setitem(sys.modules, name, None)
        for extra in (["--print-config"], []):
            line = _error_line(_train([preset, f"output_dir={tmp_path / 'run'}", "data.datasets.0.lenght=2", *extra],
                                      monkeypatch, command=command))
            assert line.startswith("data.datasets.0 (synthetic): dataset type 'synthetic': unknown option(s) "
                                   "['lenght'] (did you mean 'length'?); accepted: ['length', "), line
    assert not (tmp_path / "run").exists()


def test_output_dir_that_is_a_file(tmp_path, monkeypatch):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    line = _error_line(_train([TINY, f"output_dir={target}"], monkeypatch))
    assert line == f"output_dir {target} exists and is not a folder"
    inside = target / "run"
    line = _error_line(_train([TINY, f"output_dir={inside}"], monkeypatch))
    assert line == f"output_dir {inside}: {target} is a file, not a folder"
    assert target.read_text() == "mine"
    assert output_dir_error(tmp_path / "new" / "run") is None and output_dir_error(tmp_path) is None


def test_output_dir_that_is_a_link_to_nothing(tmp_path, monkeypatch):
    """A link to a disk not mounted was 'output_dir LINK exists and is not a folder'; it is said as what it is, as for
    every other genxd output folder (genxd.utils.io.check_writable_dir), and the link is left alone."""
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "unmounted" / "run")
    line = _error_line(_train([TINY, f"output_dir={link}"], monkeypatch))
    assert line.startswith(f"{link} is a symbolic link to {tmp_path / 'unmounted' / 'run'}, which does not exist"), line
    assert link.is_symlink() and not (tmp_path / "unmounted").exists()


def test_resume_from_a_missing_folder(tmp_path, monkeypatch):
    missing = tmp_path / "runs" / "checkpoint-0000100"
    line = _error_line(_train([TINY, f"output_dir={tmp_path / 'run'}", "--resume", missing], monkeypatch))
    assert line == f"{missing}: no such checkpoint folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _error_line(_train([TINY, f"output_dir={tmp_path / 'run'}", "--resume", empty], monkeypatch))
    assert line == f"{empty}: not a training checkpoint (no training_state.json)"
    assert not (tmp_path / "run").exists()


def test_resume_from_a_run_folder_or_a_part_of_a_checkpoint_names_the_checkpoint(tmp_path, monkeypatch):
    """``--resume RUN`` (the run folder, not one of its checkpoints) or ``--resume .../checkpoint-N/unet`` said only
    "not a training checkpoint"; the checkpoint meant is named, and a misspelt ``latest`` too."""
    from .conftest import checkpoint_folder

    run = tmp_path / "old"
    checkpoint_folder(run, 5)
    newest = checkpoint_folder(run, 10)
    (newest / "unet").mkdir()
    out = f"output_dir={tmp_path / 'run'}"
    for given in (run, run / "checkpoints"):
        line = _error_line(_train([TINY, out, "--resume", given], monkeypatch))
        assert line == f"{given}: not a training checkpoint (no training_state.json; it holds checkpoints, the newest " \
            f"{newest})"
    line = _error_line(_train([TINY, out, "--resume", newest / "unet"], monkeypatch))
    assert line == f"{newest / 'unet'}: not a training checkpoint (no training_state.json; it is a part of the " \
        f"checkpoint {newest})"
    monkeypatch.chdir(tmp_path)
    for word in ("latests", "Latest", "last"):
        line = _error_line(_train([TINY, out, "--resume", word], monkeypatch))
        assert line == f"{word}: no such checkpoint folder (did you mean 'latest'?)"
    assert not (tmp_path / "run").exists()


def test_config_that_is_a_folder(monkeypatch):
    line = _error_line(_train([TINY.parent], monkeypatch))
    assert line.startswith(f"{TINY.parent} is a folder, not a config file")


def test_missing_config_file(tmp_path, monkeypatch):
    line = _error_line(_train([tmp_path / "nope.yaml"], monkeypatch))
    assert line == f"{tmp_path / 'nope.yaml'}: no such config file"


def test_missing_base_names_the_config_that_points_to_it(tmp_path, monkeypatch):
    config = tmp_path / "x.yaml"
    config.write_text("base: nope.yaml\nseed: 1\n")
    line = _error_line(_train([config], monkeypatch))
    assert line.startswith(f"{config}: base: {tmp_path / 'nope.yaml'}: no such file (nor a preset of genxd: ")
    # a base of a base: the config that names the missing file
    middle = tmp_path / "middle.yaml"
    middle.write_text("base: [nope.yaml]\n")
    config.write_text("base: middle.yaml\n")
    line = _error_line(_train([config], monkeypatch))
    assert line.startswith(f"{middle}: base: {tmp_path / 'nope.yaml'}: no such file (nor a preset of genxd: ")
    config.write_text("base: 3\n")
    line = _error_line(_train([config], monkeypatch))
    assert line == f"{config}: base: expected a file name or a list of them, got 3"


def test_resume_latest_and_overwrite_contradict(tmp_path, monkeypatch):
    line = _error_line(_train([TINY, f"output_dir={tmp_path / 'run'}", "--resume", "latest", "--overwrite"],
                              monkeypatch))
    assert line.startswith("--resume latest and --overwrite contradict")
    assert not (tmp_path / "run").exists()
    assert resume_error("latest", False) is None and resume_error(None, True) is None


def test_an_empty_resume_is_named(tmp_path, monkeypatch):
    """``--resume ''`` read ": not a training checkpoint (no training_state.json)" (found by the cli-args fuzz
    target): the option is named."""
    for value in ("", "  "):
        line = _error_line(_train([TINY, f"output_dir={tmp_path / 'run'}", "--resume", value], monkeypatch))
        assert line == "--resume is empty: pass 'latest' or a checkpoint folder"
    assert not (tmp_path / "run").exists()


def test_resume_latest_without_checkpoint_says_so(tmp_path, capsys):
    """The run prints one line on the main process when --resume latest finds nothing to resume."""
    from genxd.training.loop import TrainingRun

    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false"])
    run = TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "genxd",
                      resume="latest", cpu=True)
    assert run.resume_from is None
    err = capsys.readouterr().err
    assert f"no checkpoint in {tmp_path / 'run' / 'checkpoints'}: starting a new run" in err
    assert len([line for line in err.splitlines() if "no checkpoint" in line]) == 1
    with pytest.raises(ValueError, match="contradict"):
        TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "genxd",
                    resume="latest", overwrite=True, cpu=True)


def test_loader_workers_are_capped_at_the_cpu_count(monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert loader_workers(12) == 2 and loader_workers(1) == 1 and loader_workers(0) == 0
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert loader_workers(12) == 3


def test_a_starting_folder_not_trained_yet_is_named_before_anything_starts(tmp_path, monkeypatch):
    """``genxd train small_genxd`` before the VAE run (docs/training.md's order) said only
    'outputs/small_vae/checkpoints: no checkpoint-* folder to use as 'latest'', after 'starting a new run' and the
    datasets (tens of seconds), without the setting that points there; now one line naming it, before the run's
    folder is made."""
    vae_run = tmp_path / "small_vae" / "checkpoints"
    run = tmp_path / "run"
    line = _error_line(_train([TINY, f"output_dir={run}", f"model.vae.pretrained={vae_run / 'latest'}"], monkeypatch))
    assert line.startswith(f"model.vae.pretrained {vae_run / 'latest'}: {vae_run}: no checkpoint-* folder")
    line = _error_line(_train([TINY, f"output_dir={run}", "model.init=genxd", f"model.pretrained={tmp_path / 'nope'}"],
                              monkeypatch))
    assert line == f"model.pretrained {tmp_path / 'nope'}: no such folder"
    line = _error_line(_train([TINY.parent / "tiny_vae.yaml", f"output_dir={run}", f"vae.pretrained={vae_run / 'latest'}"],
                              monkeypatch, command="train-vae"))
    assert line.startswith(f"vae.pretrained {vae_run / 'latest'}: ")
    assert not run.exists()


def test_train_genxd_from_python_names_a_missing_starting_folder(tmp_path):
    from genxd.training.trainer import train_genxd

    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'run'}", f"model.scheduler={tmp_path / 'sched'}"])
    with pytest.raises(FileNotFoundError, match=r"^model\.scheduler .*sched: no such folder$"):
        train_genxd(cfg, cpu=True)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind, setting", [("genxd", "model.scheduler"), ("genxd", "model.vae.pretrained"),
                                           ("vae", "vae.pretrained")])
def test_the_training_run_checks_the_starting_folders_for_both_trainers(tmp_path, kind, setting):
    """train_genxd and train_vae each called pretrained_error before making their TrainingRun; the run's start-up
    checks make it now, for both, in genxd train's order: resume with overwrite is said first."""
    from genxd.training.loop import TrainingRun

    from .conftest import TINY_VAE

    run = tmp_path / "run"
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={run}", "logging.tensorboard=false", f"{setting}={tmp_path / 'nope'}"],
                      kind=kind)
    args = (cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, kind)
    with pytest.raises(FileNotFoundError, match=rf"^{setting} .*nope: no such folder$"):
        TrainingRun(*args, cpu=True)
    with pytest.raises(ValueError, match="contradict"):
        TrainingRun(*args, resume="latest", overwrite=True, cpu=True)
    assert not run.exists()


@pytest.mark.parametrize("command, config", [("train", "tiny"), ("train-vae", "tiny_vae")])
def test_8bit_adam_without_bitsandbytes_is_refused_before_the_trainer(tmp_path, monkeypatch, command, config):
    """training.use_8bit_adam=true without bitsandbytes failed only when the optimiser was made, after the trainer's
    imports, the run's folder and the model; now with the other config checks, naming the extra."""
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # not installed
    line = _error_line(_train([config, f"output_dir={tmp_path / 'run'}", "training.use_8bit_adam=true"], monkeypatch,
                              command))
    assert line == 'training.use_8bit_adam needs bitsandbytes, which is not installed (pip install "genxd[train]")'
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_the_training_run_checks_8bit_adam_before_the_model(tmp_path, monkeypatch, kind):
    """train_genxd / train_vae (the Python API) likewise: refused before the run's folder or a model is made."""
    from genxd.training import trainer, vae_trainer

    from .conftest import TINY_VAE

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    for module, name in ((trainer, "build_unet"), (trainer, "build_vae"), (vae_trainer, "build_vae")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("a model was built"))
    run = tmp_path / "run"
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={run}", "logging.tensorboard=false", "training.use_8bit_adam=true"], kind=kind)
    train = trainer.train_genxd if kind == "genxd" else vae_trainer.train_vae
    with pytest.raises(ValueError, match=r"^training\.use_8bit_adam needs bitsandbytes.*genxd\[train\]"):
        train(cfg, cpu=True)
    assert not run.exists()


@pytest.mark.parametrize("kind, text, other", [
    ("vae", "generation: {}\n", None), ("vae", "generation: {}\ntraining: {}\n", None),
    ("genxd", "training: {}\n", None),
    ("vae", "model: {}\ngeneration: {}\n", "genxd train"), ("vae", "noise: {}\n", "genxd train"),
    ("genxd", "loss: {}\n", "genxd train-vae"), ("genxd", "vae: {}\ndata: {}\n", "genxd train-vae")])
def test_only_a_section_of_the_other_trainer_alone_names_it(tmp_path, kind, text, other):
    """A VAE config with a stray ``generation:`` section (shared by neither's own sections) was called 'a config of
    genxd train': it is an unknown section of this trainer's config now; a section only the other trainer has
    (``model``, ``conditioning``, ``noise``; ``vae``, ``loss``) still names that trainer."""
    config = tmp_path / "c.yaml"
    config.write_text(text)
    if other is None and kind == "genxd":
        load_config(config, kind=kind)
        return
    with pytest.raises(ValueError) as caught:
        load_config(config, kind=kind)
    if other is None:
        assert "unknown key(s) ['generation']" in str(caught.value) and "a config of" not in str(caught.value)
    else:
        assert f"a config of {other} (its section(s)" in str(caught.value) and f"give it to {other}" in str(caught.value)
