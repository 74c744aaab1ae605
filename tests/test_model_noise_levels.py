"""A model folder whose scheduler config makes noise levels that are not positive and falling (a negative
``sigma_min``, ``sigma_min`` above ``sigma_max``) is refused at load naming the config; before, it sampled (after
numpy's "ComplexWarning: Casting complex values to real discards the imaginary part" for a negative one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_model

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")


@pytest.fixture
def folder(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))


@pytest.mark.parametrize("changes, says", [
    ({"sigma_min": -1.0}, "its noise levels are not all above 0: 700, 30.78, -1, 0"),
    ({"sigma_min": 700.0, "sigma_max": 0.002}, r"its noise levels rise \(sigma_min above sigma_max\?\): 0.002, 15.59, 700, 0"),
])
def test_noise_levels_that_are_not_positive_and_falling_are_refused_at_load(folder, changes, says, recwarn):
    config = folder / "scheduler" / "scheduler_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **changes}))
    with pytest.raises(ValueError, match=f"^{config}: the scheduler cannot be used \\(ValueError: {says}\\)$"):
        load_model(folder, device="cpu", dtype="fp32")
    assert not [w for w in recwarn if "complex" in str(w.message).lower()]


def test_the_released_schedules_pass(folder):
    """Karras sigmas ending in 0 (the bundled and released configs) and ending at sigma_min."""
    load_model(folder, device="cpu", dtype="fp32")
    config = folder / "scheduler" / "scheduler_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "final_sigmas_type": "sigma_min"}))
    load_model(folder, device="cpu", dtype="fp32")
