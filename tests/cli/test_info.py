"""``genxd info``: what a bug report needs, from the installed metadata and the bundled model's files."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.cli.info import CORE, OPTIONAL

from ..helpers import pyproject

_WEIGHTS = "diffusion_pytorch_model.safetensors"


def test_info_reports_versions_machine_and_the_bundled_model():
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    out = result.output
    import diffusers
    import torch

    assert f"diffusers {diffusers.__version__}" in out and f"torch {torch.__version__}" in out
    assert re.search(r"cpu: .*\d+ logical cores?( \(\d+ usable by this process\))?, torch uses \d+ threads?, "
                     r"vector unit \w+", out)
    assert re.search(r"bundled model: .*genxd-small \(\d+\.\d MB\)", out)
    assert "defaults: 64x64, 8 frames, 10 steps, guidance 2.0" in out  # the bundled generation_config.json
    assert "scene depth 1.0 (camera presets x 0.5)" in out
    for dist in (*CORE, *OPTIONAL):
        assert dist in out


def test_info_names_the_right_extra_for_each_optional_package():
    # the extra named beside a missing package must exist and install it; core packages are dependencies
    project = pyproject()["project"]
    name = lambda req: re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower()  # noqa: E731
    extras = {extra: {name(r) for r in reqs} for extra, reqs in project["optional-dependencies"].items()}
    for dist, extra in OPTIONAL.items():
        assert dist in extras.get(extra, set()), (dist, extra)
    deps = {name(r) for r in project["dependencies"]}
    assert set(CORE) <= deps


def test_version_prints_the_package_version_and_exits():
    import genxd

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"genxd {genxd.__version__}"
    # eager: it answers before a command is parsed, even a wrong one
    result = CliRunner().invoke(app, ["--version", "no-such-command"])
    assert result.exit_code == 0 and result.output.strip() == f"genxd {genxd.__version__}"


def _damaged_bundled_model(tmp_path, monkeypatch, damage):
    """A copy of the bundled model, damaged by ``damage(folder)``, in place of the installed one."""
    import shutil

    import genxd.checkpoints as checkpoints

    folder = shutil.copytree(checkpoints.BUNDLED_MODEL_DIR, tmp_path / "genxd-small")
    damage(folder)
    monkeypatch.setattr(checkpoints, "BUNDLED_MODEL_DIR", folder)
    return folder


def test_a_damaged_model_config_is_not_blamed_on_generation_config(tmp_path, monkeypatch):
    """It said "generation_config.json unreadable: .../unet/config.json: expected a JSON object"."""
    folder = _damaged_bundled_model(tmp_path, monkeypatch, lambda f: (f / "unet" / "config.json").write_text("[1]"))
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert f"  config unreadable: {folder / 'unet' / 'config.json'}: expected a JSON object" in result.output.splitlines()
    assert "generation_config.json unreadable" not in result.output


def test_a_bundled_model_missing_a_file_is_said_to_be_incomplete(tmp_path, monkeypatch):
    """A bundled model without its UNet weights (a damaged installation) was reported with its size and defaults
    only, as if it could generate."""
    weights = "unet/diffusion_pytorch_model.safetensors"
    folder = _damaged_bundled_model(tmp_path, monkeypatch, lambda f: (f / weights).unlink())
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert (f"  incomplete: {folder / weights}: no such file; generate without --model fails (reinstall genxd)"
            in result.output.splitlines())


def test_a_bundled_model_whose_unet_is_a_file_is_said_to_be_incomplete_not_missing(tmp_path, monkeypatch):
    """``unet`` a file (or a link to nothing) read as "bundled model: not installed" (this session's API review)."""
    import shutil

    def unet_as_a_file(folder):
        shutil.rmtree(folder / "unet")
        (folder / "unet").write_text("")

    folder = _damaged_bundled_model(tmp_path, monkeypatch, unet_as_a_file)
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "not installed" not in result.output
    assert (f"  incomplete: {folder / 'unet' / 'config.json'}: no such file; generate without --model fails "
            "(reinstall genxd)") in result.output.splitlines(), result.output


def test_the_installed_bundled_model_is_complete():
    output = CliRunner().invoke(app, ["info"]).output
    assert "incomplete" not in output and "damaged" not in output


@pytest.mark.parametrize("damage, says", [
    (lambda f: (f / "scheduler" / "scheduler_config.json").write_text("{"),
     "scheduler/scheduler_config.json: not valid JSON (Expecting property name enclosed in double quotes at line 1, "
     "column 2); expected a model config (JSON)"),
    (lambda f: (f / "vae" / _WEIGHTS).write_bytes((f / "vae" / _WEIGHTS).read_bytes()[:2**20]),
     f"vae/{_WEIGHTS}: not a readable safetensors file (Error while deserializing header: incomplete metadata, file "
     "not fully covered): a download or copy that stopped? get it again"),
], ids=["scheduler-config-not-json", "truncated-vae-weights"])
def test_a_bundled_model_with_a_damaged_file_is_said_to_be_damaged(tmp_path, monkeypatch, damage, says):
    """A scheduler config that is no JSON or weights cut short (their header read, nothing else) made generate
    without --model fail, while info reported the model with its defaults only, as if it could generate."""
    folder = _damaged_bundled_model(tmp_path, monkeypatch, damage)
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert f"  damaged: {folder}/{says}; generate without --model fails (reinstall genxd)" in result.output.splitlines()


def test_a_bundled_model_without_its_generation_config_is_said_to_be_incomplete(tmp_path, monkeypatch):
    """Without it, generate takes the released model's defaults (256x256, 12 frames), which info printed as the
    bundled model's."""
    folder = _damaged_bundled_model(tmp_path, monkeypatch, lambda f: (f / "generation_config.json").unlink())
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert (f"  incomplete: {folder / 'generation_config.json'}: no such file; generate without --model takes the "
            "released model's defaults above, not this model's (reinstall genxd)" in result.output.splitlines())


def test_a_damaged_config_is_said_once(tmp_path, monkeypatch):
    folder = _damaged_bundled_model(tmp_path, monkeypatch, lambda f: (f / "unet" / "config.json").write_text("[1]"))
    output = CliRunner().invoke(app, ["info"]).output
    assert output.count(f"{folder / 'unet' / 'config.json'}: expected a JSON object") == 1, output


def test_a_bundled_model_with_a_config_of_another_class_is_said_to_be_damaged(tmp_path, monkeypatch):
    """A Stable Diffusion UNet config in unet/ (another kind of network) made generate without --model fail while
    info reported the model with its defaults only."""
    import json

    config = "unet/config.json"

    def damage(folder):
        (folder / config).write_text(json.dumps({**json.loads((folder / config).read_text()),
                                                 "_class_name": "UNet2DConditionModel"}))

    folder = _damaged_bundled_model(tmp_path, monkeypatch, damage)
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert (f"  damaged: {folder / config}: the config of another network class ('UNet2DConditionModel'); genxd "
            "reads unet/ as UNetMVTemporalConditionModel; generate without --model fails (reinstall genxd)"
            in result.output.splitlines()), result.output
