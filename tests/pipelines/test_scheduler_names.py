"""``--scheduler`` names without a model (fast): each built scheduler is known by its own name (``set_scheduler``
rebuilds only when the name differs), and the UNet-call count is what diffusers' timesteps say. Found by hand-made
mutation testing, round 4: only ``euler`` was named back, and the counts were checked in a 20 s pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import genxd
from genxd.pipelines.schedulers import SCHEDULERS, make_scheduler, model_calls, scheduler_name

_CONFIG = json.loads((Path(genxd.__file__).parent / "assets" / "genxd-small" / "scheduler" /
                      "scheduler_config.json").read_text())


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_each_scheduler_is_known_by_its_own_name(name):
    """dpmpp-3m and dpmpp-2m-sde share a class and one setting with dpmpp-2m: all settings must match."""
    assert scheduler_name(make_scheduler(name, _CONFIG)) == name


@pytest.mark.parametrize("name", list(SCHEDULERS))
@pytest.mark.parametrize("steps", [1, 4, 25])
def test_model_calls_are_the_schedulers_timesteps(name, steps):
    scheduler = make_scheduler(name, _CONFIG)
    scheduler.set_timesteps(steps)
    assert model_calls(name, steps) == len(scheduler.timesteps)
