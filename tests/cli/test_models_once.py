"""The guard of tests/cli/models_once.py: a test that changes the model it shares with the module's later tests is
told what it changed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from .models_once import changed_parts, model_state


class _Pipeline:
    """The parts of a GenXD pipeline :func:`model_state` reads: ``components`` and the other attributes."""

    def __init__(self) -> None:
        self.unet = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.GroupNorm(1, 3))
        self.scheduler = SimpleNamespace(config={"num_train_timesteps": 1000})
        self.decode_chunk_size = None

    @property
    def components(self) -> dict:
        return {"unet": self.unet, "scheduler": self.scheduler}


def _in_place(weight: torch.Tensor) -> None:
    with torch.no_grad():  # as load_state_dict and optimisers write (a write through .data is not counted)
        weight.mul_(1.0)


def _loaded() -> SimpleNamespace:
    return SimpleNamespace(pipe=_Pipeline(), defaults={"steps": 10}, trained={})


@pytest.mark.parametrize("change, part", [
    (lambda m: _in_place(m.pipe.unet[0].weight), "unet tensors"),  # in place, even to the same values
    (lambda m: setattr(m.pipe.unet[0], "weight", torch.nn.Parameter(torch.zeros(3, 3))), "unet tensors"),
    (lambda m: m.pipe.unet.to(torch.float64), "unet tensors"),
    (lambda m: m.pipe.unet.train(), "unet modules"),
    (lambda m: m.pipe.unet[1].register_forward_hook(lambda *a: None), "unet modules"),
    (lambda m: setattr(m.pipe.unet[1], "processor", object()), "unet modules"),
    (lambda m: m.pipe.scheduler.config.update(num_train_timesteps=10), "scheduler"),
    (lambda m: setattr(m.pipe, "decode_chunk_size", 2), "pipeline settings"),
    (lambda m: m.defaults.update(steps=25), "defaults"),
])
def test_each_kind_of_change_in_place_is_found(change, part):
    loaded = _loaded()
    loaded.pipe.unet.eval()
    before = model_state(loaded)
    assert changed_parts(before, model_state(loaded)) == []  # taking the state changes nothing
    change(loaded)
    assert changed_parts(before, model_state(loaded)) == [part]


def test_what_a_call_records_of_itself_is_not_a_change():
    loaded = _loaded()
    before = model_state(loaded)
    loaded.pipe._num_timesteps = 10  # diffusers' pipelines record their last call so
    assert changed_parts(before, model_state(loaded)) == []
    loaded.pipe._internal_dict = {"changed": True}  # the pipeline's config is a setting
    assert changed_parts(before, model_state(loaded)) == ["pipeline settings"]
