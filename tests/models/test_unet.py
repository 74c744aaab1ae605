"""The GenXD UNet: released layout, reference numbers, dtype, checkpointing, input errors."""

from __future__ import annotations

import json

import pytest
import torch

from diffusers.models.embeddings import Timesteps

from genxd.models import UNetMVTemporalConditionModel

from ..conftest import FIXTURES
from ..parity import BF16_MAX_REL, BF16_MEAN_REL, UNET_ATOL

CASES = ["mv", "video", "4d", "4d_nomotion"]


@pytest.fixture(scope="module")
def small_unet(reference_unet):
    """The reference UNet (tests/conftest.py: loaded once a process, every key matched); tests put back what they
    change."""
    return reference_unet


def _case(cases, name):
    p = f"unet.{name}."
    return dict(
        sample=cases[p + "sample"],
        timestep=cases[p + "timestep"],
        added_time_ids=cases[p + "added_time_ids"],
        indicator=cases[p + "indicator"],
        motion_ids=cases.get(p + "motion_ids"),
    ), cases[p + "out"]


def test_released_layout_on_meta_device():
    layout = json.loads((FIXTURES / "released_unet_layout.json").read_text())
    with torch.device("meta"):
        model = UNetMVTemporalConditionModel.from_config(layout["config"])
    state = model.state_dict()
    expected = layout["state_dict_shapes"]
    assert len(expected) == 1770
    assert set(state) == set(expected)
    assert {k: list(v.shape) for k, v in state.items()} == expected
    assert sum(p.numel() for p in model.parameters()) == layout["num_parameters"] == 1_932_125_520


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES)
def test_reproduces_reference_outputs(small_unet, reference_cases, reference_unet_4d, case):
    """The authors' outputs, within the float32 spread between CPU kernel families (tests/parity.py)."""
    inputs, expected = _case(reference_cases, case)
    if case == "4d":
        out = reference_unet_4d  # this model's output on these inputs, computed once a process (conftest.py)
    else:
        with torch.no_grad():
            out = small_unet(**inputs).sample
    assert out.shape == expected.shape
    assert (out - expected).abs().max().item() < UNET_ATOL


def test_indicator_switches_paths(small_unet, reference_cases):
    """The same input under different indicators gives different outputs (the paths really switch)."""
    inputs, _ = _case(reference_cases, "4d")
    outs = {}
    with torch.no_grad():
        for ind in (0, 1, 2):
            outs[ind] = small_unet(**{**inputs, "indicator": torch.full((2,), ind)}).sample
    assert (outs[0] - outs[1]).abs().max() > 1e-3
    assert (outs[0] - outs[2]).abs().max() > 1e-5
    # mixed batch == per-sample runs
    with torch.no_grad():
        mixed = small_unet(**{**inputs, "indicator": torch.tensor([0, 1])}).sample
    torch.testing.assert_close(mixed[0], outs[0][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(mixed[1], outs[1][1], atol=1e-5, rtol=0)


def test_skipping_zero_weight_temporal_path_in_3d_is_exact(small_unet, reference_cases):
    """With the mode given on the host as the int 0 and ``skip_zero_weight_paths`` on, the temporal paths
    (blend weight exactly 0 in 3D) are not run and the output is bitwise the full computation's; other
    modes, or the indicator as a tensor, still run them."""
    from genxd.models.blocks import MVCascadeTemporalResBlock, TransformerMVCascadeTemporalModel

    inputs, expected = _case(reference_cases, "mv")
    assert bool((inputs["indicator"] == 0).all())
    calls = []
    hooks = []
    for m in small_unet.modules():
        if isinstance(m, MVCascadeTemporalResBlock):
            hooks.append(m.temporal_res_block.register_forward_hook(lambda *a: calls.append(1)))
        elif isinstance(m, TransformerMVCascadeTemporalModel):
            for t in m.temporal_transformer_blocks:
                hooks.append(t.register_forward_hook(lambda *a: calls.append(1)))
    try:
        with torch.no_grad():
            full = small_unet(**{**inputs, "indicator": 0}).sample
            n_full = len(calls)
            small_unet.skip_zero_weight_paths = True
            skipped = small_unet(**{**inputs, "indicator": 0}).sample
            n_skipped = len(calls) - n_full
            tensor_ind = small_unet(**inputs).sample  # indicator as a tensor: not known on the host, full work
            n_tensor = len(calls) - n_full - n_skipped
            four_d, _ = _case(reference_cases, "4d")
            out_4d = small_unet(**{**four_d, "indicator": 2}).sample
    finally:
        small_unet.skip_zero_weight_paths = False
        for h in hooks:
            h.remove()
    assert n_full == len(hooks) and n_skipped == 0 and n_tensor == len(hooks)
    assert torch.equal(skipped, full) and torch.equal(tensor_ind, full)  # same machine, same kernels: exact
    assert (full - expected).abs().max().item() < UNET_ATOL
    assert (out_4d - reference_cases["unet.4d.out"]).abs().max().item() < UNET_ATOL


@pytest.mark.parity
def test_bfloat16_computes_in_bfloat16(small_unet, reference_cases, reference_unet_4d):
    """Every activation is bfloat16, and the output stays close to this machine's float32 output (bounds
    from the bfloat16 error measured under three CPU kernel families, tests/parity.py)."""
    inputs, _ = _case(reference_cases, "4d")
    ref = reference_unet_4d  # small_unet's float32 output on these inputs (conftest.py)
    model = UNetMVTemporalConditionModel.from_config(small_unet.config)
    model.load_state_dict(small_unet.state_dict())
    model = model.to(torch.bfloat16).eval()
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    dtypes: set[torch.dtype] = set()

    def hook(_module, _inp, out):
        if torch.is_tensor(out):
            dtypes.add(out.dtype)

    # Timesteps makes float32 sinusoids by design (diffusers); everything after it is cast.
    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model and not isinstance(m, Timesteps)]
    bf_inputs = {k: (v.to(torch.bfloat16) if k == "sample" else v) for k, v in inputs.items()}
    with torch.no_grad():
        out = model(**bf_inputs).sample
    for h in handles:
        h.remove()
    assert out.dtype == torch.bfloat16
    assert dtypes == {torch.bfloat16}, f"intermediate activations in {dtypes}"
    err = (out.float() - ref).abs()
    assert err.max() < BF16_MAX_REL * ref.abs().max(), float(err.max() / ref.abs().max())
    assert err.mean() < BF16_MEAN_REL * ref.abs().mean(), float(err.mean() / ref.abs().mean())


def test_gradient_checkpointing_same_gradients(small_unet, reference_cases):
    inputs, _ = _case(reference_cases, "4d")

    def grads(checkpointing: bool):
        model = UNetMVTemporalConditionModel.from_config(small_unet.config)
        model.load_state_dict(small_unet.state_dict())
        model.train()
        if checkpointing:
            model.enable_gradient_checkpointing()
        out = model(**inputs).sample
        (out.square().mean()).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    g0, g1 = grads(False), grads(True)
    assert set(g0) == set(g1) and len(g0) > 100
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(indicator=torch.tensor([0, 3])), "indicator"),
        (dict(sample=torch.zeros(2, 6, 14, 8, 8)), "channels"),
        (dict(sample=torch.zeros(2, 6, 15, 6, 8)), "multiples"),
        (dict(sample=torch.zeros(2, 15, 8, 8)), r"\[batch, frames"),
        (dict(added_time_ids=torch.zeros(2, 5, 2)), "added_time_ids"),
        (dict(indicator=torch.tensor([0, 0, 0])), "indicator"),
        (dict(motion_ids=torch.zeros(3)), "motion_ids"),
    ],
)
def test_bad_inputs_raise_value_error(small_unet, reference_cases, change, match):
    inputs, _ = _case(reference_cases, "4d")
    with pytest.raises(ValueError, match=match):
        small_unet(**{**inputs, **change})


def test_bad_config_raises_value_error():
    with pytest.raises(ValueError, match="cross-attention"):
        UNetMVTemporalConditionModel(cross_attention_dim=1024)
    with pytest.raises(ValueError, match="unknown down block"):
        UNetMVTemporalConditionModel(down_block_types=("Nope",) * 4)


def test_save_and_reload_roundtrip(small_unet, tmp_path, reference_cases):
    """Saved and loaded again, the model computes bitwise the same output (same machine, same kernels)."""
    small_unet.save_pretrained(tmp_path / "unet")
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").exists()
    cfg = json.loads((tmp_path / "unet" / "config.json").read_text())
    assert cfg["_class_name"] == "UNetMVTemporalConditionModel"
    again = UNetMVTemporalConditionModel.from_pretrained(tmp_path / "unet").eval()
    inputs, _ = _case(reference_cases, "mv")
    with torch.no_grad():
        assert torch.equal(again(**inputs).sample, small_unet(**inputs).sample)
