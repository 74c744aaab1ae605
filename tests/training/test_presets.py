"""The shipped presets by name (genxd.training.presets): ``genxd train tiny`` from a folder outside the repository
(what a wheel install has), a path that exists winning over a preset, a wrong name listing the presets."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.config import TrainConfig, VAETrainConfig, load_config
from genxd.training.presets import PRESETS_DIR, preset_kind, preset_names, resolve_config


def test_presets_ship_inside_the_package():
    import genxd

    assert PRESETS_DIR.parent == Path(genxd.__file__).resolve().parent
    assert {"tiny", "tiny_vae", "small_genxd", "paper_stage1", "paper_stage2_1gpu"} <= set(preset_names())


def test_a_preset_name_resolves_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config("tiny") == PRESETS_DIR / "tiny.yaml"
    assert resolve_config("tiny.yaml") == PRESETS_DIR / "tiny.yaml"
    assert isinstance(load_config("tiny"), TrainConfig)
    assert isinstance(load_config("tiny_vae", kind="vae"), VAETrainConfig)
    # a preset with a chain of bases (paper_stage2_1gpu -> paper_stage2 -> paper_stage1) and outputs/ paths,
    # which stay relative to the folder it runs in
    cfg = load_config("paper_stage2_1gpu")
    assert cfg.model.pretrained == "outputs/paper_stage1_1gpu/checkpoints/latest"


def test_a_path_that_exists_wins_over_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text("seed: 12345\n")
    assert resolve_config("tiny.yaml") == Path("tiny.yaml")
    assert load_config("tiny.yaml").seed == 12345
    assert load_config("tiny").seed != 12345  # no file named "tiny" here: the preset


@pytest.mark.parametrize("name", ["tinny", "nope.yaml", "tiny.yml.yaml"])
def test_a_name_that_is_neither_lists_the_presets(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such config file, nor a preset") as info:
        load_config(name)
    assert name in str(info.value) and all(p in str(info.value) for p in preset_names("genxd"))


def test_each_preset_is_of_one_kind():
    unet, vae = preset_names("genxd"), preset_names("vae")
    assert {"tiny", "small_genxd", "paper_stage2_1gpu"} <= set(unet) and {"tiny_vae", "small_vae"} <= set(vae)
    assert sorted(unet + vae) == preset_names()  # every shipped preset, each once
    assert preset_kind("h100_small_vae") == "vae" and preset_kind("h100_small_genxd_photo") == "genxd"  # via bases


@pytest.mark.parametrize(("command", "kind"), [("train", "genxd"), ("train-vae", "vae")])
def test_a_wrong_name_lists_only_the_presets_of_the_commands_kind(tmp_path, monkeypatch, command, kind):
    """``genxd train-vae nope`` listed all 16 presets, the UNet's too (and ``genxd train nope`` the VAE's)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [command, "nope"])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    listed = line.rsplit(": ", 1)[1].rstrip(")").split(", ")
    assert listed == preset_names(kind), line
    assert not set(listed) & set(preset_names("vae" if kind == "genxd" else "genxd")), line


def test_a_missing_path_names_the_preset_of_its_file_name(tmp_path, monkeypatch):
    """``genxd train configs/tiny.yaml``, where the presets were in the checkout before they moved into the package."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_config("configs/tiny.yaml")
    assert str(info.value) == ("configs/tiny.yaml: no such config file (genxd ships a preset of its name: "
                               "give it as tiny)")
    with pytest.raises(FileNotFoundError) as info:
        load_config(tmp_path / "mine.yaml")
    assert str(info.value) == f"{tmp_path / 'mine.yaml'}: no such config file"


def test_genxd_train_takes_a_preset_name_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "tiny", "training.max_steps=3", "--print-config"])
    assert result.exit_code == 0, result.output
    assert "max_steps: 3" in result.output and "output_dir: outputs/tiny" in result.output
    result = CliRunner().invoke(app, ["train-vae", "tiny_vae", "--print-config"])
    assert result.exit_code == 0 and "output_dir: outputs/tiny_vae" in result.output, result.output
    result = CliRunner().invoke(app, ["train", "tinny"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and "tinny: no such config file, nor a preset of genxd" in lines[0], result.output
    assert "small_genxd" in lines[0] and "Traceback" not in result.output


@pytest.mark.parametrize(("command", "preset", "right", "sections"), [
    ("train-vae", "tiny", "genxd train", "conditioning, model"),
    ("train", "tiny_vae", "genxd train-vae", "loss, vae"),
])
def test_a_preset_of_the_other_trainer_names_the_right_command(tmp_path, monkeypatch, command, preset, right,
                                                               sections):
    """``genxd train-vae tiny`` said "unknown key(s) ['model', 'conditioning']" and listed the VAE's sections."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [command, preset, f"output_dir={tmp_path / 'run'}"])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("genxd: error: ") and line.endswith(f": give it to {right}"), line
    assert f"its section(s) {sections} are {right}'s" in line and "unknown key" not in line, line
    assert not (tmp_path / "run").exists()
    # a copy of the preset (its bases too) is told the same; a config with a section neither has is not
    (tmp_path / "mine.yaml").write_text(f"base: {preset}.yaml\nseed: 3\n")
    with pytest.raises(ValueError, match=f"give it to {right}$"):
        load_config("mine.yaml", kind="genxd" if command == "train" else "vae")
    (tmp_path / "odd.yaml").write_text(f"base: {preset}.yaml\nextra: 1\n")
    with pytest.raises(ValueError, match="unknown key"):
        load_config("odd.yaml", kind="genxd" if command == "train" else "vae")
