"""CPU checks of the sampling benchmark scripts (their GPU runs are recorded in docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ..helpers import ROOT, env_with_path, load_script


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


def test_bench_sampling_help_imports_neither_torch_nor_genxd_pipelines():
    """``--help`` answers before the heavy imports (they took about a minute on a loaded machine)."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['bench_sampling.py', '--help']\n"
        "try:\n"
        "    runpy.run_path(%r, run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print('HEAVY', sorted(m for m in ('torch', 'genxd.pipelines', 'diffusers') if m in sys.modules))\n"
    ) % str(ROOT / "benchmarks" / "bench_sampling.py")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=env_with_path(ROOT / "src"))
    assert r.returncode == 0, r.stderr
    assert "--quality-model" in r.stdout  # the help was printed
    assert "HEAVY []" in r.stdout


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
    assert add_key[3][:2] == ((2, 8, 4, 4), a.stride())  # the output's layout too
    rows = log.rows()
    assert rows[0]["output"]["stride"] == list(a.stride()) and rows[0]["kernels"] == []


def test_profile_fast_path_elementwise_log_attributes_profiled_ops_to_their_keys():
    """Each logged operator runs under a labelled profiler range; ``attribute`` walks the range's operators
    (on CPU there are no kernels, so the check is that every logged key has its range and nothing else does)."""
    from torch.profiler import ProfilerActivity, profile

    probe = load_script("benchmarks/profile_fast_path.py")
    log = probe.ElementwiseLog(min_numel=10)
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with log:
            a + b
            a * b
            a + b
            a.exp()
    labels = sorted(ev.name for ev in prof.events() if ev.name.startswith(probe.ElementwiseLog.LABEL))
    assert labels == [f"{probe.ElementwiseLog.LABEL}{i}" for i in range(3)]  # one range per logged call
    assert [k[0] for k in log.calls] == ["add", "mul", "add"] and log.calls[0] == log.calls[2]
    log.attribute(prof)  # no kernels on CPU: runs, and leaves every key's list empty
    assert [r["count"] for r in log.rows()] == [2, 1] and all(r["kernels"] == [] for r in log.rows())


def test_bench_group_norm_records_the_group_norm_calls_of_a_call():
    """The benchmark's shape recorder sees each GroupNorm call with its input shape, add shape, groups and SiLU
    flag, and leaves the class's forward as it was."""
    import types

    from genxd.pipelines.fused_norms import GroupNormNHWC

    probe = load_script("benchmarks/bench_group_norm.py")
    norm = torch.nn.GroupNorm(4, 8)
    norm.__class__ = GroupNormNHWC

    class Unet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = norm

        def forward(self, x, t):
            return self.norm(self.norm(x), add=t)

    x, t = torch.randn(2, 8, 3, 3), torch.randn(2, 8)
    forward = GroupNormNHWC.forward
    calls = probe.record_calls(types.SimpleNamespace(unet=Unet()), {"x": x, "t": t})
    assert calls == {((2, 8, 3, 3), None, 4, False): 1, ((2, 8, 3, 3), (2, 8), 4, False): 1}
    assert GroupNormNHWC.forward is forward


def test_bench_geglu_records_the_geglu_calls_of_a_call():
    """The GEGLU benchmark's recorder sees every switched GEGLU's projection shape and removes its hooks; its
    launch choices all differ."""
    import types

    from diffusers.models.activations import GEGLU

    import genxd.pipelines.fused_kernels as fk

    probe = load_script("benchmarks/bench_geglu.py")
    unet = torch.nn.Sequential(GEGLU(8, 6), GEGLU(6, 4))
    fk.install_fused_kernels(unet)
    calls = probe.record_calls(types.SimpleNamespace(unet=unet), {"input": torch.randn(3, 5, 8)})
    assert calls == {(3, 5, 12): 1, (3, 5, 8): 1} and not any(m._forward_pre_hooks for m in unet)
    assert len(set(probe.CHOICES.values())) == len(probe.CHOICES) - 1  # "default" repeats one of the grid
