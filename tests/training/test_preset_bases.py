"""``base:`` of a preset copied out of the package (docs/training.md: copy a preset to start your own)."""

from __future__ import annotations

import shutil

import pytest

from genxd.training.config import load_config
from genxd.training.presets import PRESETS_DIR, preset_names


def test_a_copied_preset_inherits_the_shipped_preset_it_names(tmp_path, monkeypatch):
    """``cp .../configs/h100_small_genxd.yaml my.yaml`` then ``load_config('my.yaml')`` failed with
    'base: small_genxd.yaml: no such file' (the base is looked for beside the copy only)."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(PRESETS_DIR / "h100_small_genxd.yaml", tmp_path / "my.yaml")
    assert load_config("my.yaml") == load_config("h100_small_genxd")


def test_a_base_beside_the_file_wins_over_the_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text("seed: 4321\n")
    (tmp_path / "my.yaml").write_text("base: tiny.yaml\n")
    assert load_config("my.yaml").seed == 4321


def test_a_base_that_is_neither_names_the_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my.yaml").write_text("base: tinny.yaml\n")
    with pytest.raises(FileNotFoundError, match="my.yaml: base: tinny.yaml: no such file .nor a preset of genxd: ") \
            as info:
        load_config("my.yaml")
    assert all(f"{n}.yaml" in str(info.value) for n in preset_names())
    (tmp_path / "my.yaml").write_text("base: sub/tiny.yaml\n")  # a path: beside the file only
    with pytest.raises(FileNotFoundError) as info:
        load_config("my.yaml")
    assert str(info.value) == f"my.yaml: base: {tmp_path.joinpath('sub', 'tiny.yaml').relative_to(tmp_path)}: no such file"
