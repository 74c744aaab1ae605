"""The GPU fast path: clean fallback without CUDA; compiled == eager UNet."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import torch

from genxd.models import UNetMVTemporalConditionModel
from genxd.pipelines import GenXDPipeline
from genxd.pipelines.fast import compile_available, enable_fast_path


def _unet_case(cases, name="4d"):
    p = f"unet.{name}."
    return dict(sample=cases[p + "sample"], timestep=cases[p + "timestep"], added_time_ids=cases[p + "added_time_ids"],
                indicator=cases[p + "indicator"], motion_ids=cases.get(p + "motion_ids")), cases[p + "out"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU fallback")
def test_fast_path_falls_back_without_cuda(reference_small, caplog):
    pipe = GenXDPipeline.from_pretrained(reference_small)
    before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    with caplog.at_level(logging.WARNING):
        out = enable_fast_path(pipe)
    assert out is pipe
    assert pipe.unet.dtype == torch.float32 and pipe.device.type == "cpu"
    assert not getattr(pipe.unet, "_genxd_compiled", False)
    assert "CUDA is not available" in caplog.text
    assert all(torch.equal(before[k], v) for k, v in pipe.unet.state_dict().items())
    assert compile_available() is False


def test_compiled_unet_matches_eager_on_cpu(reference_small):
    """Dynamo captures the whole forward (no crash, same numbers). On CPU we use the ``aot_eager``
    backend: inductor's C++ code generation takes minutes on a 2-core CI machine; the CUDA test
    below runs the real inductor path. Runs in a subprocess: compiled state left in the test
    process slows every later model call of the suite many times over."""
    code = f"""
import torch
from safetensors.torch import load_file
from genxd.models import UNetMVTemporalConditionModel
root = {str(reference_small)!r}
cases = load_file(root + "/cases.safetensors")
p = "unet.4d."
inputs = dict(sample=cases[p + "sample"], timestep=cases[p + "timestep"], added_time_ids=cases[p + "added_time_ids"],
              indicator=cases[p + "indicator"], motion_ids=cases[p + "motion_ids"])
unet = UNetMVTemporalConditionModel.from_pretrained(root + "/unet").eval()
compiled = torch.compile(unet, backend="aot_eager", dynamic=False)
with torch.no_grad():
    out = compiled(**inputs).sample
err = (out - cases[p + "out"]).abs().max().item()
print("max_abs_err", err)
assert err < 1e-4, err
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "max_abs_err" in res.stdout


@pytest.mark.cuda
def test_fast_path_on_cuda_close_to_float32(reference_small, reference_cases):
    inputs, expected = _unet_case(reference_cases)
    pipe = GenXDPipeline.from_pretrained(reference_small).to("cuda")
    enable_fast_path(pipe)
    assert pipe.unet.dtype == torch.bfloat16
    cuda_inputs = {k: (v.cuda() if torch.is_tensor(v) else v) for k, v in inputs.items()}
    cuda_inputs["sample"] = cuda_inputs["sample"].to(torch.bfloat16)
    with torch.no_grad():
        out = pipe.unet(**cuda_inputs).sample.float().cpu()
    err = (out - expected).abs()
    assert err.mean() < 0.02 * expected.abs().mean() + 0.01, err.mean()
