"""``genxd.training.ema.EMAWeights.load``: a checkpoint's ``ema.safetensors`` that cannot be read is the
damaged-checkpoint error, one missing weights of the model says which."""

from __future__ import annotations

import re

import pytest
import torch
from safetensors.torch import save_file

from genxd.training.ema import EMAWeights, averaged_weights

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


def test_ema_update_by_hand():
    """The averaged weight after each update, computed by hand from the documented warm-up
    ``decay_t = min(decay, 1 - (1 + t) ** -power)`` (diffusers' EMAModel warm-up with inv_gamma 1), with
    ``t = step - start_step``; before ``start_step`` (t <= 0) the EMA copies the weights."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMAWeights(model, decay=0.5, power=1.0, start_step=1)
    for step, value in [(1, 4.0), (2, 8.0), (3, 0.0), (4, 2.0)]:
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model, step)
        if step == 1:  # t = 0: a copy of the weights
            assert float(ema.shadow["weight"]) == pytest.approx(4.0)
    # step 2: t = 1, decay = min(0.5, 1 - 1/2) = 0.5: 0.5 * 4 + 0.5 * 8 = 6
    # step 3: t = 2, decay = min(0.5, 1 - 1/3) = 0.5: 0.5 * 6 + 0.5 * 0 = 3
    # step 4: t = 3, decay = 0.5: 0.5 * 3 + 0.5 * 2 = 2.5
    assert float(ema.shadow["weight"]) == pytest.approx(2.5)
    assert ema.num_updates == 4


def test_ema_warm_up_decay_by_hand():
    """``decay=0.9999, power=2/3``: 1 - 2 ** (-2/3) = 0.37004 after the first step, 1 - 10 ** (-2/3) = 0.78456 at
    t = 9, the cap 0.9999 only after (1 + t) ** (2/3) >= 1e4, i.e. t >= 1e6 - 1."""
    ema = EMAWeights(torch.nn.Linear(1, 1), decay=0.9999, power=2 / 3, start_step=0)
    assert ema.current_decay(0) == 0.0
    assert ema.current_decay(1) == pytest.approx(0.370039, abs=1e-6)
    assert ema.current_decay(9) == pytest.approx(0.784557, abs=1e-6)
    assert ema.current_decay(10**7) == pytest.approx(0.9999)
    assert EMAWeights(torch.nn.Linear(1, 1), decay=0.9, start_step=100).current_decay(100) == 0.0


def test_averaged_weights_swaps_in_the_average_and_back_also_after_an_error():
    """The trainers' validation and VAE checkpoint writing run with the EMA's weights in eval mode; after the block
    (an error too) the model's own weights are back bit for bit and it trains again."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    ema = EMAWeights(model, decay=0.5)
    with torch.no_grad():
        model.weight.add_(1.0)  # the model moves away from the average
    own = {k: v.clone() for k, v in model.state_dict().items()}
    with averaged_weights(model, ema) as inside:
        assert inside is model and not model.training
        assert torch.equal(model.weight, ema.shadow["weight"])
    assert model.training and all(torch.equal(v, own[k]) for k, v in model.state_dict().items())
    with pytest.raises(RuntimeError, match="boom"), averaged_weights(model, ema):
        raise RuntimeError("boom")
    assert model.training and torch.equal(model.weight, own["weight"])
    with averaged_weights(model, None):  # no EMA: the model's own weights, in eval mode
        assert not model.training and torch.equal(model.weight, own["weight"])
    assert model.training
