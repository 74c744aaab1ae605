"""A misspelt config key or dataset option names the key it is close to, and the ``generation:`` section is checked
when the config is read: a key ``genxd generate`` never reads, or a value it refuses, was written into every checkpoint
of the run (found only when generating from them)."""

from __future__ import annotations

import json

import pytest

from genxd.data.datasets import build_dataset
from genxd.training.config import load_config

from .conftest import TINY


@pytest.mark.parametrize("override, key, close", [
    ("training.lerning_rate=1", "lerning_rate", "(did you mean 'learning_rate'?)"),
    ("trainin.max_steps=3", "trainin", "(did you mean 'training'?)"),
    ("training.ema.decy=0.5", "decy", "(did you mean 'decay'?)"),
    ("generation.guidance_scal=2", "guidance_scal", "(did you mean 'guidance_scale'?)"),
])
def test_a_misspelt_key_names_the_close_one(override, key, close):
    with pytest.raises(ValueError) as caught:
        load_config(TINY, [override])
    assert f"unknown key(s) [{key!r}] {close}; valid keys:" in str(caught.value)


def test_a_key_close_to_none_names_none():
    with pytest.raises(ValueError) as caught:
        load_config(TINY, ["training.xyz=1"])
    assert "unknown key(s) ['xyz']; valid keys:" in str(caught.value) and "did you mean" not in str(caught.value)


def test_several_misspelt_keys_name_each_close_one():
    with pytest.raises(ValueError) as caught:
        load_config(TINY, ["training.lerning_rate=1", "training.max_step=3", "training.xyz=1"])
    assert "(did you mean 'lerning_rate' -> 'learning_rate', 'max_step' -> 'max_steps'?)" in str(caught.value)


@pytest.mark.parametrize("override, message", [
    ("generation.guidance_scale=abc", "generation: guidance_scale must be a finite number, got 'abc'"),
    ("generation.num_inference_steps=0", "generation: num_inference_steps must be a positive whole number, got 0"),
    ("generation.focal=-1", "generation: focal must be a positive number or null, got -1"),
    ("generation.scheduler=eulr", "generation: scheduler must be one of euler, heun, dpmpp-2m, dpmpp-3m, dpmpp-2m-sde, "
                                  "unipc, got 'eulr'"),  # it said 'one of one of'; genxd generate too
    ("generation.scene_depth=0", "generation: scene_depth must be a positive number, got 0"),
    ("generation.trained={resolution: [64, 32]}", "generation: trained.resolution must be [low, high] finite numbers"),
])
def test_a_generation_value_genxd_generate_refuses_is_refused_when_read(override, message):
    with pytest.raises(ValueError) as caught:
        load_config(TINY, [override])
    assert str(caught.value).startswith(message)


def test_generation_settings_genxd_generate_reads_are_kept():
    section = {"guidance_scale": 2.5, "num_inference_steps": 10, "focal": 1.1, "scheduler": "heun",
               "scene_depth": None, "trained": {"motion_strength": [0, 20]}, "_note": "ours"}
    cfg = load_config(TINY, [f"generation={json.dumps(section)}"])
    assert cfg.generation == section


def test_a_misspelt_dataset_option_names_the_close_one():
    with pytest.raises(ValueError) as caught:
        build_dataset({"type": "synthetic", "lenght": 4, "wieght": 2})
    assert "unknown option(s) ['lenght', 'wieght'] (did you mean 'lenght' -> 'length', 'wieght' -> 'weight'?)" \
        in str(caught.value)
