"""The issue-24 training recipe (scripts/train_small_h100.py photo=M): its preset and the driver's guards."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from genxd.data.datasets import DATASET_TYPES, _register_late_types
from genxd.training.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def driver():
    spec = importlib.util.spec_from_file_location("train_small_h100", ROOT / "scripts" / "train_small_h100.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_photo_preset_continues_the_bundled_model_on_photo_and_procedural_clips():
    cfg = load_config(ROOT / "configs" / "h100_small_genxd_photo.yaml")
    assert cfg.model.init == "genxd" and cfg.model.pretrained.endswith("genxd-small")
    assert [d["type"] for d in cfg.data.datasets] == ["photo", "synthetic"] and cfg.data.preload
    assert "rotate" in cfg.data.datasets[1]["cameras_3d"] and "zoom" in cfg.data.datasets[1]["cameras_3d"]
    assert cfg.training.max_minutes <= 7
    _register_late_types()
    for spec in cfg.data.datasets:  # every option is one the dataset takes
        params = inspect.signature(DATASET_TYPES[spec["type"]].__init__).parameters
        assert set(spec) - {"type", "weight"} <= set(params), spec


def test_the_driver_refuses_evaluation_seeds_and_long_pieces(driver):
    cfg = load_config(ROOT / "configs" / "h100_small_genxd_photo.yaml")
    driver.check_seeds(cfg)  # the shipped seeds are training seeds
    for i, seed in ((0, 7), (1, 5), (0, 9)):
        bad = load_config(ROOT / "configs" / "h100_small_genxd_photo.yaml", [f"data.datasets.{i}.seed={seed}"])
        with pytest.raises(SystemExit, match="validation/evaluation"):
            driver.check_seeds(bad)
    with pytest.raises(SystemExit, match="validation/evaluation"):
        driver.set_pool(8)
    with pytest.raises(SystemExit, match="at most 7"):
        driver.stage_photo(7.5)
    driver.EXTRA_OVERRIDES.clear()
    driver.set_pool(11)
    assert driver.EXTRA_OVERRIDES == ["data.datasets.0.seed=11", "data.datasets.1.seed=11"]
    driver.EXTRA_OVERRIDES.clear()
