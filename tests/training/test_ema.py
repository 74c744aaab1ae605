"""``genxd.training.ema.EMAWeights.load``: a checkpoint's ``ema.safetensors`` that cannot be read is the
damaged-checkpoint error, one missing weights of the model says which."""

from __future__ import annotations

import re

import pytest
import torch
from safetensors.torch import save_file

from genxd.training.ema import EMAWeights

from .conftest import checkpoint_folder


def test_an_ema_file_cut_short_is_the_damaged_checkpoint_error(tmp_path):
    """The EMA load raised safetensors' own error; the training loop turned it into the damaged-checkpoint line,
    except a ValueError it recognised by its text (the missing weights)."""
    model = torch.nn.Linear(3, 2)
    ema = EMAWeights(model)
    earlier, newest = checkpoint_folder(tmp_path, 1), checkpoint_folder(tmp_path, 2)
    ema.save(newest / "ema.safetensors")
    with open(newest / "ema.safetensors", "r+b") as fh:
        fh.truncate(40)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(newest / 'ema.safetensors'))} cannot be read \(a damaged "
                                         rf"or incomplete checkpoint: .*\); resume from the one before it: "
                                         rf"resume={re.escape(repr(str(earlier)))}$"):
        ema.load(newest / "ema.safetensors")
    with pytest.raises(ValueError, match=r"ema\.safetensors cannot be read \(a damaged or incomplete checkpoint: "):
        ema.load(earlier / "ema.safetensors")  # not there


def test_an_ema_file_without_a_weight_of_the_model_names_the_weights(tmp_path):
    model = torch.nn.Linear(3, 2)
    ema = EMAWeights(model)
    save_file({"weight": torch.zeros(2, 3)}, str(tmp_path / "ema.safetensors"), metadata={"num_updates": "4"})
    with pytest.raises(ValueError, match=rf"^{re.escape(str(tmp_path / 'ema.safetensors'))}: EMA weights missing "
                                         r"for 1 parameters, e.g. \['bias'\]$"):
        ema.load(tmp_path / "ema.safetensors")
    assert ema.num_updates == 0  # nothing taken from the file
    save_file({"weight": torch.ones(2, 3), "bias": torch.ones(2)}, str(tmp_path / "ema.safetensors"),
              metadata={"num_updates": "4"})
    ema.load(tmp_path / "ema.safetensors")
    assert ema.num_updates == 4 and torch.equal(ema.shadow["bias"], torch.ones(2))
