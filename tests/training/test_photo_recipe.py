"""The issue-24 training recipe (scripts/train_small_h100.py photo=M): its preset and the driver's guards."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from genxd.data.datasets import dataset_class
from genxd.checkpoint_folders import BUNDLED_MODEL_DIR, starting_folder
from genxd.training.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def driver():
    spec = importlib.util.spec_from_file_location("train_small_h100", ROOT / "scripts" / "train_small_h100.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_photo_preset_continues_the_bundled_model_on_photo_and_procedural_clips():
    cfg = load_config("h100_small_genxd_photo")
    assert cfg.model.init == "genxd" and cfg.model.pretrained == "bundled"  # the word kept in the config
    assert starting_folder(cfg.model.pretrained) == BUNDLED_MODEL_DIR
    assert [d["type"] for d in cfg.data.datasets] == ["photo", "synthetic"] and cfg.data.preload
    assert "rotate" in cfg.data.datasets[1]["cameras_3d"] and "zoom" in cfg.data.datasets[1]["cameras_3d"]
    orbits = load_config("h100_small_genxd_photo_orbits")
    assert [d["type"] for d in orbits.data.datasets] == ["photo", "photo", "synthetic"]
    assert orbits.data.datasets[1]["cameras_cards"] == ["orbit_wide"] and orbits.data.datasets[1]["kinds"] == ["3d"]
    assert orbits.model.pretrained == cfg.model.pretrained and orbits.output_dir == cfg.output_dir
    assert cfg.training.max_minutes <= 7
    for spec in cfg.data.datasets:  # every option is one the dataset takes
        params = inspect.signature(dataset_class(spec["type"]).__init__).parameters
        assert set(spec) - {"type", "weight"} <= set(params), spec


def test_the_driver_refuses_evaluation_seeds_and_long_pieces(driver):
    cfg = load_config("h100_small_genxd_photo")
    driver.check_seeds(cfg)  # the shipped seeds are training seeds
    for i, seed in ((0, 7), (1, 5), (0, 9)):
        bad = load_config("h100_small_genxd_photo", [f"data.datasets.{i}.seed={seed}"])
        with pytest.raises(SystemExit, match="validation/evaluation"):
            driver.check_seeds(bad)
    with pytest.raises(SystemExit, match="validation/evaluation"):
        driver.set_pool(8)
    with pytest.raises(SystemExit, match="at most 7"):
        driver.stage_photo(7.5)
    driver.set_pool(11)
    assert driver.pool_overrides(driver.PHOTO_PRESET) == ["data.datasets.0.seed=11", "data.datasets.1.seed=11"]
    assert driver.pool_overrides(driver.ORBITS_PRESET)[-1] == "data.datasets.2.seed=11"
    driver.POOL["seed"] = None
    driver.EXTRA_OVERRIDES.clear()


def test_tune_picks_the_guidance_on_validation_scenes_of_both_kinds(driver, tmp_path, monkeypatch):
    import json

    import genxd.evaluation

    ckpt = tmp_path / "checkpoints" / "checkpoint-0000003"
    ckpt.mkdir(parents=True)
    (ckpt / "training_state.json").write_text("{}")
    (ckpt / "generation_config.json").write_text(json.dumps({"guidance_scale": 2.0}))
    calls = []

    def fake_evaluate(model, num_scenes, guidance, seed, modes, **kwargs):
        calls.append((seed, modes, guidance))
        synth = {1.0: 1.0, 1.5: 2.0, 2.0: 3.0, 3.0: 2.5}[guidance]
        photo = {1.0: 4.0, 1.5: 3.5, 2.0: 1.0, 3.0: 0.5}[guidance]
        return {"3d-1view": {"psnr_gain_db": synth}, "photo-cards": {"psnr_gain_db": photo}}

    monkeypatch.setattr(genxd.evaluation, "evaluate", fake_evaluate)
    monkeypatch.setitem(driver.RUN, "dir", tmp_path)
    monkeypatch.setitem(driver.RUN, "photo", True)
    driver.stage_tune()
    assert {c[0] for c in calls} == {5} and all(c[1] == ("3d-1view", "photo-cards") for c in calls)
    # mean gains: 2.5, 2.75, 2.0, 1.5 -> 1.5 (not 2.0, the best on the procedural scenes alone)
    assert json.loads((ckpt / "generation_config.json").read_text())["guidance_scale"] == 1.5


def test_every_stage_is_checked_before_the_first_one_runs(driver, monkeypatch):
    """A typo after a training piece showed only once the piece had used its device time; bad values were
    tracebacks. Now the whole command line is checked first, in one line, and nothing runs."""
    ran = []
    monkeypatch.setattr(driver, "stage_export", lambda name="genxd-small": ran.append(name))
    for argv, needle in [(["run=photo", "export", "exprot"], "unknown stage 'exprot'"),
                         (["photo=abc"], "minutes must be a number"), (["photo=-1"], "minutes must be a number"),
                         (["pool=x"], "whole number"), (["tune=3"], "takes no value"), (["+training.bogus"], r"\+KEY=VALUE"),
                         (["run=other"], "run=photo or run=genxd")]:
        with pytest.raises(SystemExit, match=needle):
            driver.main(argv)
    assert ran == []
    driver.main(["run=photo", "export"])
    assert ran == ["genxd-small"]
