"""``import genxd`` quiets library lines that ask for nothing: diffusers' "should be kept in float32: []" warning on
every dtype cast is dropped (a real one still shows); bitsandbytes' CPU-backend logger is kept to errors."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from genxd.models import UNetMVTemporalConditionModel
from genxd.utils import library_logs


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def diffusers_lines():
    """Messages that reach diffusers' own handlers (its root logger does not propagate to pytest's)."""
    root = logging.getLogger("diffusers")
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def _tiny_unet(reference_small):
    config = json.loads((reference_small / "unet" / "config.json").read_text())
    return UNetMVTemporalConditionModel.from_config(config)


def _float32_warnings(lines):
    return [m for m in lines if "should be kept in float32" in m]


def test_cast_without_float32_modules_is_silent(reference_small, diffusers_lines):
    unet = _tiny_unet(reference_small)
    logger = logging.getLogger(library_logs.DIFFUSERS_MODELING_LOGGER)
    kept = [f for f in logger.filters if isinstance(f, library_logs.EmptyFloat32ListFilter)]
    assert len(kept) == 1  # installed once by importing genxd
    for f in kept:  # without the filter: does this diffusers version warn at all?
        logger.removeFilter(f)
    try:
        unet.to(dtype=torch.bfloat16)
    finally:
        library_logs.quiet_library_logs()
    if not _float32_warnings(diffusers_lines):
        pytest.skip("this diffusers version does not warn on casts")
    diffusers_lines.clear()
    unet.to(dtype=torch.float32)
    unet.to(torch.bfloat16)
    assert _float32_warnings(diffusers_lines) == []
    assert unet.dtype == torch.bfloat16


def test_warning_that_names_modules_still_shows(reference_small, diffusers_lines):
    unet = _tiny_unet(reference_small)
    unet._keep_in_fp32_modules = ["conv_in"]
    unet.to(dtype=torch.bfloat16)
    lines = _float32_warnings(diffusers_lines)
    if not lines:
        pytest.skip("this diffusers version does not warn on casts")
    assert "['conv_in']" in lines[0]


def test_bitsandbytes_cpu_logger_keeps_to_errors():
    assert logging.getLogger(library_logs.BITSANDBYTES_CPU_LOGGER).level == logging.ERROR


def test_missing_weights_are_one_line_from_genxd_loaders_but_diffusers_still_warns_directly(
        reference_small, diffusers_lines, tmp_path):
    """genxd's loaders name a missing weight in their own one-line error; diffusers' two-line "were not
    initialized from the model checkpoint ... You should probably TRAIN this model" warning came first. It is
    dropped while genxd loads, and only then."""
    from safetensors.torch import load_file, save_file

    from genxd.checkpoints import load_component

    unet = tmp_path / "unet"
    _tiny_unet(reference_small).save_pretrained(unet)
    weights = unet / "diffusion_pytorch_model.safetensors"
    state = load_file(weights)
    del state["conv_in.weight"]
    save_file(state, weights)
    with pytest.raises(ValueError, match="holds no weight conv_in.weight"):
        load_component(UNetMVTemporalConditionModel, unet, "a UNet folder")
    assert not [m for m in diffusers_lines if "were not initialized" in m], diffusers_lines
    UNetMVTemporalConditionModel.from_pretrained(unet)  # a user's own load: diffusers' warning as before
    assert [m for m in diffusers_lines if "were not initialized" in m]
    left = [f for f in logging.getLogger(library_logs.DIFFUSERS_MODELING_LOGGER).filters
            if isinstance(f, library_logs.DroppedMessages)]
    assert not left, "the filter was left on"


def test_float16_on_a_cpu_is_one_genxd_warning_not_diffusers_paragraph(diffusers_lines):
    """``genxd generate --dtype fp16`` on a CPU printed diffusers' paragraph "Pipelines loaded with
    dtype=torch.float16 cannot run with cpu device ... running them will fail" twice, and then ran (3x slower
    than fp32). Now one GenXDWarning says so; torch dtypes other than the three are refused by name."""
    import warnings

    import genxd
    from genxd.validation import GenXDWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lm = genxd.load_model(None, device="cpu", dtype=torch.float16)
    assert lm.pipe.unet.dtype == torch.float16
    ours = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert ours == ["dtype fp16 on a CPU runs about 3x slower than fp32 (few float16 kernels there); fp32, the "
                    "default, or bf16 are faster"], ours
    assert not [m for m in diffusers_lines if "cannot run with `cpu` device" in m], diffusers_lines
    with pytest.raises(ValueError, match=r"^dtype must be one of fp32, bf16, fp16 .*got torch.float64"):
        genxd.load_model(None, device="cpu", dtype=torch.float64)
