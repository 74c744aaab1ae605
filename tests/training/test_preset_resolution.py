"""Which file ``genxd train NAME`` / ``load_config(NAME)`` reads (genxd.training.presets.resolve_config) where the
name is also a folder here or a Windows path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.config import load_config
from genxd.training.presets import PRESETS_DIR, resolve_config


def test_a_folder_named_like_a_preset_is_not_taken_for_the_config(tmp_path, monkeypatch):
    """``genxd train tiny output_dir=tiny`` makes a folder ``tiny``; the next ``genxd train tiny`` there failed with
    'tiny is a folder, not a config file (..., or a preset name such as tiny)'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny.yaml").mkdir()
    assert resolve_config("tiny") == PRESETS_DIR / "tiny.yaml"
    assert resolve_config("tiny.yaml") == PRESETS_DIR / "tiny.yaml"
    assert load_config("tiny").output_dir == "outputs/tiny"


def test_a_folder_that_is_no_preset_says_it_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    with pytest.raises(IsADirectoryError, match="mine is a folder, not a config file"):
        load_config("mine")
    with pytest.raises(IsADirectoryError, match="is a folder, not a config file"):
        load_config(tmp_path)  # a path with a folder part


@pytest.mark.parametrize("given", ["configs\\tiny.yaml", "C:\\genxd\\configs\\tiny.yaml"])
def test_a_windows_path_of_a_preset_names_the_preset(tmp_path, monkeypatch, given):
    """On Linux ``genxd train 'configs\\tiny.yaml'`` (a README's Windows path) listed every preset instead."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_config(given)
    assert str(info.value) == f"{given}: no such config file (genxd ships a preset of its name: give it as tiny)"
    result = CliRunner().invoke(app, ["train", given, "--print-config"])
    assert result.exit_code == 2, result.output
    assert f"genxd: error: {given}: no such config file (genxd ships a preset of its name: give it as tiny)" in \
        result.output
