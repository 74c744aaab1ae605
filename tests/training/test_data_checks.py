"""Data mistakes are refused in one line before the model is built or loaded (they came after it, 8-21 s in)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import genxd.training.trainer as trainer
from genxd.cli import app

from .conftest import QUIET, TINY


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was built before the data was checked")

    monkeypatch.setattr(trainer, "build_unet", refuse)
    monkeypatch.setattr(trainer, "build_vae", refuse)


@pytest.mark.parametrize("override, expected", [
    ("data.datasets=[{type: camvid, root: NOWHERE}]", "nowhere: no such file or folder"),
    ("data.datasets=[{type: synthetic, lenght: 4}]", "unknown option(s) ['lenght']"),
    ("data.datasets=[{type: multiview, root: EMPTY}]", "no multi-view scenes"),
    ("data.height=40", "data.height/width must be multiples of 16"),
])
def test_data_mistakes_come_before_the_model(tmp_path, no_model, override, expected):
    (tmp_path / "empty").mkdir()
    override = override.replace("NOWHERE", str(tmp_path / "nowhere")).replace("EMPTY", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET, override, "--cpu"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "UNet:" not in result.output and "Traceback" not in result.output
