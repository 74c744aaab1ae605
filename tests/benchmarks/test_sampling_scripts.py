"""CPU checks of the sampling benchmark scripts (their GPU runs are recorded in docs/benchmarks.md)."""

from __future__ import annotations

import pytest
import torch

from ..helpers import load_script


def test_profile_fast_path_kernel_families():
    prof = load_script("benchmarks/profile_fast_path.py")
    names = {
        "cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7": "attention",
        "sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize64x64x64": "convolution",
        "nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_bias_TNT": "gemm",
        "triton_poi_fused_gelu_mul_split_view_4": "triton_pointwise",
        "triton_red_fused_native_group_norm_0": "triton_reduction",
        "void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16>": "layout",
        "void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>>": "elementwise",
        "Memset (Device)": "memset/memcpy",
    }
    assert {k: prof.family(k) for k in names} == names


def test_bench_sampling_modes_and_inputs():
    """Every mode's switches are enable_fast_path keywords; the float32 path does the authors' full work
    (the skip is a fast-path switch); inputs carry the mode as the pipeline does (one int)."""
    import inspect

    from genxd.pipelines.fast import enable_fast_path

    bench = load_script("benchmarks/bench_sampling.py")
    params = set(inspect.signature(enable_fast_path).parameters)
    for name, kwargs in bench.MODES.items():
        if isinstance(kwargs, dict):
            assert set(kwargs) <= params, name
    assert bench.MODES["fp32_eager"] is None
    assert bench.MODES["fast_noskip"]["skip_zero_weight_paths"] is False

    class _Pipe:
        class unet:
            dtype = torch.float32

    inp = bench.unet_inputs(_Pipe, 64, 3, "cpu", "4d")
    assert inp["sample"].shape == (2, 3, 15, 8, 8) and inp["indicator"] == 2
    assert bench.unet_inputs(_Pipe, 64, 3, "cpu", "3d")["indicator"] == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_sampling_scripts_need_cuda(monkeypatch):
    prof = load_script("benchmarks/profile_fast_path.py")
    monkeypatch.setattr("sys.argv", ["profile_fast_path.py"])
    with pytest.raises(SystemExit, match="CUDA"):
        prof.main()


def test_profile_fast_path_elementwise_log_keeps_layouts_of_large_operands():
    probe = load_script("benchmarks/profile_fast_path.py")
    log = probe.ElementwiseLog(min_numel=100)
    a = torch.randn(2, 8, 4, 4).contiguous(memory_format=torch.channels_last)
    small = torch.randn(3, 3)
    with log:
        a + a
        a * 2
        small + small  # under min_numel: not logged
        torch.sigmoid(a)  # not an elementwise op of the list
    ops = sorted(k[0] for k in log.counts)
    assert ops == ["add", "mul"]
    (add_key,) = [k for k in log.counts if k[0] == "add"]
    assert add_key[2][0][:2] == ((2, 8, 4, 4), a.stride()) and log.counts[add_key] == 1
