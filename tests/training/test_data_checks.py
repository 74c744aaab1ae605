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
    # a number where a pair or list goes, a weight that is no number: TypeError's traceback, float()'s words alone
    ("data.datasets=[{type: synthetic, focal_range: 1.0}]",
     "data.datasets.0 (synthetic): focal_range must be (low, high) with 0 < low <= high, got 1.0"),
    ("data.datasets=[{type: photo, layout_weights: 2, layouts: [cards, world]}]",
     "data.datasets.0 (photo): layout_weights must be 2 weights >= 0, not all 0, got 2"),
    ("data.datasets=[{type: photo, layout_weights: [1, .nan]}]", "layout_weights must be 2 weights >= 0"),
    ("data.datasets=[{type: synthetic, weight: abc}]", "data.datasets.0 (synthetic): weight must be a number >= 0, got 'abc'"),
])
def test_data_mistakes_come_before_the_model(tmp_path, no_model, override, expected):
    (tmp_path / "empty").mkdir()
    override = override.replace("NOWHERE", str(tmp_path / "nowhere")).replace("EMPTY", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET, override, "--cpu"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "UNet:" not in result.output and "Traceback" not in result.output
