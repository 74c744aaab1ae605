"""Shared pieces of ``profile_sampling.py``: the model and its inputs, weight formats, timing, constants."""

from __future__ import annotations

import importlib.util
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from genxd.models import UNetMVTemporalConditionModel

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
#: Variants in the order they run (see the module docstring for why this order).
VARIANT_ORDER = (
    "bf16_no_cudnn_benchmark",
    "bf16_eager",
    "bf16_channels_last",
    "bf16_channels_last_3d",
    "bf16_cuda_graph",
    "fp16_eager",
)
#: ``--config tiny``: the released block types at two levels, 32 channels, one layer per block.
TINY_CONFIG = dict(
    block_out_channels=[32, 32], num_attention_heads=[1, 1], layers_per_block=1, sample_size=8,
    down_block_types=["CrossAttnDownBlockMVCascadeTemporal", "DownBlockMVCascadeTemporal"],
    up_block_types=["UpBlockMVCascadeTemporal", "CrossAttnUpBlockMVCascadeTemporal"],
)
#: Defaults of ``--res`` / ``--frames`` per configuration.
DEFAULT_SHAPE = {"released": (256, 12), "tiny": (32, 2)}

RANGE_PREFIX = "genxd."  # every profiler range this script opens starts with it (excluded from kernel lists)
MODULE_RANGE = "genxd.mod::"
CALL_RANGE = "genxd.call#"
#: Module classes that get no profiler range (containers, no-ops) besides the root model.
UNHOOKED_CLASSES = ("ModuleList", "ModuleDict", "Sequential", "Dropout", "Identity")
#: Parent blocks that define the cascade path of the modules under them.
PATH_OF_BLOCK_CLASS = {
    "BasicTransformerBlock": "spatial",
    "MultiviewTransformerBlock": "multiview",
    "TemporalBasicTransformerBlock": "temporal",
}
#: Name, per grouping of the module breakdown, of the time spent under no range of that grouping.
OUTSIDE = {
    "label": "(outside modules)", "cls": "(outside modules)", "block": "(root: outside blocks)",
    "path": "(no cascade path: blocks' own ops, blenders, up/down sampling, embeddings)",
}
#: Kernel-name substrings (lower case) per rough kind, tried in order (conv before gemm: cuDNN's
#: implicit-GEMM convolutions are named ``*fprop*implicit_gemm*``).
KERNEL_CATEGORIES = (
    ("attention", ("flash", "fmha", "attention", "sdpa")),
    ("layout transform", ("nchwtonhwc", "nhwctonchw", "transpose", "permute")),
    ("convolution", ("fprop", "conv", "winograd", "cudnn")),
    ("normalisation", ("norm", "moments", "rstd", "fusedparams")),
    ("gemm", ("gemm", "cutlass", "nvjet", "xmma", "cublas", "sm90_", "sm80_", "ampere_")),
    ("copy / cat / fill", ("copy", "cat", "memcpy", "memset", "fill")),
    ("elementwise / reduce", ("elementwise", "vectorized", "unrolled", "reduce")),
)
PATH_OF_RES_ATTRIBUTE = {"spatial_res_block": "spatial", "mv_res_block": "multiview", "temporal_res_block": "temporal"}


def _load_bench_sampling():
    """``benchmarks/bench_sampling.py`` as a module (its released-layout path and input helper)."""
    spec = importlib.util.spec_from_file_location("genxd_bench_sampling", HERE / "bench_sampling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_sampling = _load_bench_sampling()


# --------------------------------------------------------------------------------------------- model
class _UNetOnly:
    """The part of a ``GenXDPipeline`` that :func:`enable_fast_path` touches, for a bare UNet."""

    def __init__(self, unet: nn.Module) -> None:
        self.unet = unet
        self.vae = nn.Identity()

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device


def build_unet(config: str, device: torch.device) -> UNetMVTemporalConditionModel:
    """Random-weight UNet (float32) on ``device``: the released layout or the tiny configuration."""
    if config not in DEFAULT_SHAPE:
        raise ValueError(f"--config must be one of {sorted(DEFAULT_SHAPE)}, got {config!r}")
    cfg = json.loads(bench_sampling.LAYOUT.read_text())["config"]
    if config == "tiny":
        cfg = {**cfg, **TINY_CONFIG}
    torch.manual_seed(0)
    with torch.device(device):  # random init directly on the GPU (seconds instead of a minute on CPU)
        unet = UNetMVTemporalConditionModel.from_config(cfg)
    return unet.eval().requires_grad_(False)


def guided_inputs(unet: nn.Module, res: int, frames: int, device: torch.device, dtype: torch.dtype) -> dict[str, Tensor]:
    """``bench_sampling.unet_inputs``: one guided call, ``sample [2, frames, 15, res/8, res/8]`` in ``dtype``."""
    if res % 8:
        raise ValueError(f"--res must be a multiple of 8, got {res}")
    inputs = bench_sampling.unet_inputs(_UNetOnly(unet), res, frames, device)
    inputs["sample"] = inputs["sample"].to(dtype)
    return inputs


def set_weights(unet: nn.Module, dtype: torch.dtype, memory_format: str = "contiguous") -> dict[str, Any]:
    """Put the weights in ``dtype`` and a memory format, in place.

    ``memory_format``: ``contiguous``; ``channels_last`` (``unet.to(memory_format=...)``, falling back
    to the 4-D weights only when that call fails); ``channels_last_3d`` (4-D weights channels_last,
    5-D weights channels_last_3d). Returns what was done.
    """
    unet.to(dtype=dtype)
    info: dict[str, Any] = {"memory_format": memory_format}
    params = list(unet.parameters()) + list(unet.buffers())
    if memory_format == "contiguous":
        for p in params:
            p.data = p.data.contiguous()
        return info
    if memory_format == "channels_last":
        try:
            unet.to(memory_format=torch.channels_last)
            info["applied"] = "unet.to(memory_format=torch.channels_last)"
            return info
        except RuntimeError as err:
            info["module_to_error"] = f"{type(err).__name__}: {err}"
            info["applied"] = "4-D weights only (Conv2d); 5-D Conv3d weights left contiguous"
    elif memory_format != "channels_last_3d":
        raise ValueError(f"unknown memory format {memory_format!r}")
    n4 = n5 = 0
    for p in params:
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
            n4 += 1
        elif p.dim() == 5 and memory_format == "channels_last_3d":
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
            n5 += 1
    info.update(weights_4d_switched=n4, weights_5d_switched=n5)
    return info


# -------------------------------------------------------------------------------------------- timing
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], device: torch.device, reps: int, warmup: int) -> tuple[list[float], float | None]:
    """Milliseconds of ``reps`` synchronised calls after ``warmup`` calls, and the peak memory (GiB,
    CUDA only) over the timed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t) * 1000)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return times, peak


def time_op(fn: Callable[[], Any], device: torch.device, reps: int, inner: int = 10, warmup: int = 3) -> float:
    """Median milliseconds of one ``fn()`` over ``reps`` loops of ``inner`` calls (CUDA events on GPU)."""
    for _ in range(warmup):
        fn()
    sync(device)
    per_call = []
    for _ in range(reps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            per_call.append(start.elapsed_time(end) / inner)
        else:
            t = time.perf_counter()
            for _ in range(inner):
                fn()
            per_call.append((time.perf_counter() - t) * 1000 / inner)
    return statistics.median(per_call)


def _tflops(flops: float | None, ms: float) -> float | None:
    return flops / (ms * 1e-3) / 1e12 if flops and ms > 0 else None


def _output_stats(out: Tensor) -> dict[str, Any]:
    return {"output_finite": bool(torch.isfinite(out).all().item()), "output_abs_mean": out.float().abs().mean().item()}

