"""``benchmarks/profile_sampling.py``: the CPU smoke run (tiny config) and its building blocks.

The released-size profile runs on a GPU (``python benchmarks/profile_sampling.py``); here the tiny
configuration checks that one run writes every section, that CUDA-only parts skip with a reason, and
that the Conv3d rewrites and switches it times are exact.
"""

from __future__ import annotations

import gzip
import json

import pytest
import torch
from torch import nn

from ..helpers import load_script


@pytest.fixture(scope="module")
def profile_sampling():
    return load_script("benchmarks/profile_sampling.py")


@pytest.fixture(scope="module")
def cpu_run(profile_sampling, tmp_path_factory):
    out = tmp_path_factory.mktemp("profile")
    result = profile_sampling.main(
        ["--config", "tiny", "--device", "cpu", "--reps", "2", "--warmup", "1", "--profile-calls", "2", "--out", str(out)]
    )
    return result, out


def test_cpu_run_writes_every_section(cpu_run):
    result, out = cpu_run
    saved = json.loads((out / "profile.json").read_text())
    assert set(saved) >= {"meta", "flops", "variants", "profile", "conv3d", "errors"}
    assert saved["errors"] == [], saved["errors"]
    assert saved["meta"]["config"] == "tiny" and saved["meta"]["parameters"] > 0
    assert saved["variants"]["bf16_eager"]["median_ms"] == result["variants"]["bf16_eager"]["median_ms"]

    flops = saved["flops"]
    assert flops["total_used"] >= flops["total"] > 0
    assert any("convolution" in op for op in flops["per_op"])
    assert flops["sdpa_analytic"] > 0  # the CPU SDPA kernel has no counter formula: added analytically
    assert flops["total_used"] == flops["total"] + (flops["sdpa_analytic"] if flops["sdpa_counted"] == 0 else 0)
    assert any(k.startswith("Conv3d") for k in flops["by_class"]) and "Attention[multiview]" in flops["by_class"]


def test_cpu_variants_time_or_skip_with_reason(cpu_run):
    variants = cpu_run[0]["variants"]
    for name in ("bf16_eager", "bf16_channels_last", "bf16_channels_last_3d", "fp16_eager"):
        v = variants[name]
        assert v["status"] == "ok", v
        assert v["median_ms"] > 0 and len(v["times_ms"]) == 2 and all(t > 0 for t in v["times_ms"])
        assert v["tflops_per_s"] > 0 and v["output_finite"]
    for name in ("bf16_cuda_graph", "bf16_no_cudnn_benchmark"):
        assert variants[name]["status"] == "skipped" and variants[name]["reason"]
    # the model has Conv3d (5-D) weights: unet.to(channels_last) fails, recorded, 4-D weights switched
    weights = variants["bf16_channels_last"]["weights"]
    assert "rank 4" in weights["module_to_error"] and weights["weights_4d_switched"] > 0
    assert variants["bf16_channels_last_3d"]["weights"]["weights_5d_switched"] > 0


def test_cpu_profile_breakdowns(cpu_run):
    result, out = cpu_run
    prof = result["profile"]
    kernels = prof["kernels"]
    assert kernels["basis"].startswith("cpu") and kernels["idle"]["status"] == "skipped" and kernels["idle"]["reason"]
    assert kernels["top"] and all(r["total_ms"] >= 0 for r in kernels["top"]) and kernels["top"][0]["total_ms"] > 0
    modules = prof["modules"]
    by_class = modules["by_class"]
    assert any(k.startswith(("Conv2d", "Conv3d")) and v["self_ms_per_call"] > 0 for k, v in by_class.items())
    for path in ("spatial", "multiview", "temporal"):
        assert by_class[f"Attention[{path}]"]["self_ms_per_call"] > 0
        assert modules["by_path"][path]["total_ms_per_call"] > 0
    assert by_class["Conv3d[multiview]"]["count_per_call"] == by_class["Conv3d[temporal]"]["count_per_call"] > 0
    assert sum(v["self_ms_per_call"] for v in by_class.values()) == pytest.approx(modules["attributed_ms_per_call"])
    assert {"down_blocks.0", "mid_block", "up_blocks.1"} <= set(modules["by_block"])
    text = (out / "kernels.txt").read_text()
    assert "by_class" in text and "Attention[multiview]" in text
    assert prof["trace"]["status"] == "ok"
    with gzip.open(out / "trace.json.gz", "rt") as f:
        trace = json.load(f)
    assert any(str(e.get("name", "")).startswith("genxd.mod::Attention[multiview]") for e in trace["traceEvents"])


def test_cpu_conv3d_study(cpu_run):
    conv = cpu_run[0]["conv3d"]
    assert conv["shapes"] and conv["conv3d_calls_per_call"] > 0
    for row in conv["shapes"]:
        assert set(row["ms"]) == {"conv3d", "conv2d_k1_view", "matmul_shifted"} and min(row["ms"].values()) > 0
        for diff in row["max_abs_diff"].values():  # bf16: rounding only
            assert diff <= 0.02 * row["reference_abs_max"] + 1e-2


@pytest.mark.parametrize("kernel,padding", [((3, 1, 1), (1, 0, 0)), ((1, 1, 1), (0, 0, 0)), ((3, 1, 1), (0, 0, 0))])
def test_conv3d_rewrites_are_exact(profile_sampling, kernel, padding):
    torch.manual_seed(0)
    conv = nn.Conv3d(6, 5, kernel, padding=padding).double()
    x = torch.randn(2, 6, 7, 3, 4, dtype=torch.float64)
    fns = profile_sampling.conv3d_alternatives(conv, x)
    assert set(fns) == {"conv3d", "conv2d_k1_view", "matmul_shifted"}
    ref = fns["conv3d"]()
    for name in ("conv2d_k1_view", "matmul_shifted"):
        assert torch.allclose(fns[name](), ref, atol=1e-12), name


def test_conv3d_rewrites_skip_spatial_kernels(profile_sampling):
    conv = nn.Conv3d(4, 4, (3, 3, 3), padding=1)
    assert set(profile_sampling.conv3d_alternatives(conv, torch.randn(1, 4, 3, 5, 5))) == {"conv3d"}


def test_input_checks_skipped_restores_the_method(profile_sampling):
    unet = profile_sampling.build_unet("tiny", torch.device("cpu"))
    with profile_sampling.input_checks_skipped(unet):  # genxd.pipelines.fast.input_checks_skipped
        assert unet._check_inputs(None, None, None, None) is None
    assert "_check_inputs" not in vars(unet)
    with pytest.raises(ValueError, match="indicator"):
        inputs = profile_sampling.guided_inputs(unet, 64, 2, torch.device("cpu"), torch.float32)
        unet(**{**inputs, "indicator": torch.tensor([0, 5])})


def test_bad_arguments(profile_sampling):
    with pytest.raises(SystemExit):
        profile_sampling.parse_args(["--variants", "nope"])
    with pytest.raises(ValueError, match="multiple of 8"):
        profile_sampling.guided_inputs(nn.Linear(1, 1), 60, 2, torch.device("cpu"), torch.float32)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_tiny(profile_sampling, tmp_path):
    """Every CUDA branch on the tiny model: cuDNN switch, CUDA graph, kernel table, idle share."""
    result = profile_sampling.main(["--config", "tiny", "--device", "cuda", "--reps", "3", "--profile-calls", "2",
                                    "--out", str(tmp_path)])
    assert result["errors"] == [], result["errors"]
    graph = result["variants"]["bf16_cuda_graph"]
    assert graph["status"] == "ok" and graph["median_ms"] > 0
    assert graph["max_abs_diff_vs_eager"] <= 1e-2 * graph["reference_abs_max"] + 1e-3
    assert graph["max_abs_diff_vs_eager_new_input"] <= 1e-2 * graph["reference_abs_max"] + 1e-3
    assert result["variants"]["bf16_no_cudnn_benchmark"]["status"] == "ok"
    kernels = result["profile"]["kernels"]
    assert kernels["kernels_per_call"] > 0 and kernels["busy_ms_per_call"] > 0
    assert 0 <= kernels["idle"]["idle_share_in_profile"] < 1
    modules = result["profile"]["modules"]
    assert modules["attributed_ms_per_call"] >= 0.5 * modules["device_kernel_ms_per_call"]
    assert any(k.startswith("Conv3d") for k in modules["by_class"])


# ------------------------------------------------- the CUDA analysis on a synthetic profiler trace
def _event(name, start, end, device="CPU", parent=None, kernels=(), corr=0, activity=""):
    from types import SimpleNamespace

    from torch.autograd import DeviceType

    return SimpleNamespace(
        name=name, device_type=getattr(DeviceType, device), activity_type=activity, is_async=False, is_legacy=False,
        time_range=SimpleNamespace(start=start, end=end), cpu_parent=parent, id=corr, self_cpu_time_total=0.0,
        kernels=[SimpleNamespace(name=k, device=0, duration=d) for k, d in kernels],
    )


class _FakeProfile:
    def __init__(self, events):
        self._events = events

    def events(self):
        return self._events


def _synthetic_trace(attach_kernels: bool):
    """One call (0-1000 us): a multiview Attention range (flash kernel 300 us, and a Linear range with a
    100 us GEMM), then an op outside every module (50 us), plus the GPU mirror of the Attention range."""
    attn_name = "genxd.mod::Attention[multiview] down_blocks.0.attentions.0.attn1"
    lin_name = "genxd.mod::Linear[multiview] down_blocks.0.attentions.0.attn1.to_q"
    info = {
        attn_name: {"label": "Attention[multiview]", "cls": "Attention", "path": "multiview", "block": "down_blocks.0"},
        lin_name: {"label": "Linear[multiview]", "cls": "Linear", "path": "multiview", "block": "down_blocks.0"},
    }
    k = (lambda *ks: ks) if attach_kernels else (lambda *ks: ())
    call = _event("genxd.call#0", 0, 1000)
    attn = _event(attn_name, 10, 500, parent=call, kernels=[(attn_name, 400)])  # the mirror: never counted
    flash = _event("aten::_scaled_dot_product_flash_attention", 20, 30, parent=attn, kernels=k(("flash_fwd_kernel", 300)))
    lin = _event(lin_name, 40, 60, parent=attn)
    mm = _event("aten::addmm", 45, 55, parent=lin, kernels=k(("nvjet_tst_gemm", 100)))
    add = _event("aten::add", 600, 610, parent=call, kernels=k(("vectorized_elementwise_kernel", 50)))
    runtime = [_event("cudaLaunchKernel", 25, 26, parent=flash, corr=7), _event("cudaLaunchKernel", 50, 51, parent=mm, corr=8),
               _event("cudaLaunchKernel", 605, 606, parent=add, corr=9)]
    device = [
        _event("flash_fwd_kernel", 100, 400, device="CUDA", corr=7, activity="kernel"),
        _event("nvjet_tst_gemm", 400, 500, device="CUDA", corr=8, activity="kernel"),
        _event("vectorized_elementwise_kernel", 700, 750, device="CUDA", corr=9, activity="kernel"),
        _event(attn_name, 100, 500, device="CUDA", activity="gpu_user_annotation"),
    ]
    return _FakeProfile([call, attn, flash, lin, mm, add, *runtime, *device]), info


@pytest.mark.parametrize("attach_kernels", [True, False], ids=["kernels-on-ops", "runtime-correlation-fallback"])
def test_module_breakdown_on_cuda_events(profile_sampling, attach_kernels):
    prof, info = _synthetic_trace(attach_kernels)
    mods = profile_sampling.module_breakdown(prof, info, 1, torch.device("cuda"))
    assert mods["attribution_via_runtime_correlation"] is (not attach_kernels)
    assert mods["device_kernel_ms_per_call"] == pytest.approx(0.45) == mods["attributed_ms_per_call"]
    by_class = mods["by_class"]
    assert by_class["Attention[multiview]"]["self_ms_per_call"] == pytest.approx(0.3)
    assert by_class["Attention[multiview]"]["total_ms_per_call"] == pytest.approx(0.4)
    assert by_class["Linear[multiview]"]["self_ms_per_call"] == pytest.approx(0.1)
    assert by_class["(outside modules)"]["self_ms_per_call"] == pytest.approx(0.05)
    assert by_class["Attention[multiview]"]["count_per_call"] == 1
    assert mods["by_path"]["multiview"]["total_ms_per_call"] == pytest.approx(0.4)
    assert mods["by_block"]["down_blocks.0"]["total_ms_per_call"] == pytest.approx(0.4)


def test_kernel_summary_on_cuda_events(profile_sampling):
    prof, _ = _synthetic_trace(True)
    ks = profile_sampling.kernel_summary(prof, 1, torch.device("cuda"), eager_median_ms=0.9, top=40)
    assert [r["name"] for r in ks["top"]] == ["flash_fwd_kernel", "nvjet_tst_gemm", "vectorized_elementwise_kernel"]
    assert ks["top"][0]["total_ms"] == pytest.approx(0.3) and ks["top"][0]["pct"] == pytest.approx(100 * 300 / 450)
    assert ks["kernels_per_call"] == 3 and ks["busy_ms_per_call"] == pytest.approx(0.45)
    assert ks["idle"]["idle_share_in_profile"] == pytest.approx(0.55)
    assert ks["idle"]["idle_share_vs_unprofiled_median"] == pytest.approx(0.5)
    assert ks["idle"]["per_call_in_profile"][0]["gpu_span_ms"] == pytest.approx(0.65)
    assert set(ks["by_category"]) == {"attention", "gemm", "elementwise / reduce"}


def test_meta_device_counts_the_same_flops(profile_sampling, cpu_run, tmp_path):
    """On meta, attention runs the math path (bmm, counted); on CPU the flash kernel is not counted
    and the analytic figure is added: both totals must agree."""
    result = profile_sampling.main(["--config", "tiny", "--device", "meta", "--out", str(tmp_path)])
    assert result["variants"] == {} and "FLOP count only" in result["meta"]["note"]
    flops, cpu_flops = result["flops"], cpu_run[0]["flops"]
    assert flops["sdpa_counted"] == flops["sdpa_analytic"] > 0 and not flops["sdpa_added_analytically"]
    assert flops["total_used"] == cpu_flops["total_used"]
