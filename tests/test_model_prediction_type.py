"""A model folder whose scheduler does not predict ``v_prediction`` (GenXD's UNet's output) is refused at load,
naming its config; before, it loaded and every input failed at its first step, the config unnamed ("failed:
scene_a.png: EulerDiscreteScheduler has prediction_type='epsilon', ... (pass prediction_type=... when building
it, ...)")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_model

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"


@pytest.fixture
def folder(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))


def _scheduler_config(folder: Path, **changes) -> Path:
    path = folder / "scheduler" / "scheduler_config.json"
    config = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not ...}))
    return path


@pytest.mark.parametrize("value, says", [
    ("epsilon", "prediction_type = 'epsilon', but GenXD's UNet predicts 'v_prediction'"),
    ("sample", "prediction_type = 'sample', but GenXD's UNet predicts 'v_prediction'"),
    (..., "prediction_type = 'epsilon', but GenXD's UNet predicts 'v_prediction' (the key is left out: "
          "EulerDiscreteScheduler's default 'epsilon')"),
])
def test_a_scheduler_predicting_something_else_is_refused_at_load(folder, value, says):
    config = _scheduler_config(folder, prediction_type=value)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == f"{config}: {says}"


def test_generate_names_the_scheduler_config_in_one_line_and_writes_nothing(folder, tmp_path):
    from genxd.cli import app

    config = _scheduler_config(folder, prediction_type="epsilon")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "--model", str(folder), "-o", str(out), "--steps", "1",
                                   "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert [line for line in res.stderr.splitlines() if line.startswith("genxd: ")] == [
        f"genxd: error: {config}: prediction_type = 'epsilon', but GenXD's UNet predicts 'v_prediction'"]
    assert not out.exists() or not any(out.rglob("*"))
