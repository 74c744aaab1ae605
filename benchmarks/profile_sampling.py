"""Where the time of one guided UNet call goes (issue 10): variants, FLOPs, kernels, modules, Conv3d.

One run produces everything (the GPU time to run it is scarce):

1. builds the UNet as ``bench_sampling.py`` does (released configuration, random weights; ``--config
   tiny`` is a tiny configuration so the script runs on CPU in seconds) and its guided-call inputs
   (batch 2 x F frames, ``res/8`` latents);
2. counts the FLOPs of one bf16 call once (``torch.utils.flop_counter.FlopCounterMode``: total, per
   aten op, per module class, per UNet block; attention FLOPs are added analytically where the
   counter has no formula for the SDPA kernel that ran);
3. times each variant (median of ``--reps`` after warm-up, peak memory, achieved TFLOP/s); a failing
   variant records its error and the run goes on:

   - ``bf16_no_cudnn_benchmark``: bf16 weights, SDPA attention, ``cudnn.benchmark=False`` (runs first:
     cuDNN's algorithm cache would otherwise carry benchmarked choices over);
   - ``bf16_eager``: what ``enable_fast_path(compile=False)`` gives, ``cudnn.benchmark=True`` (all later
     variants keep it on);
   - ``bf16_channels_last``: plus ``unet.to(memory_format=torch.channels_last)``; that call fails on
     this model (Conv3d weights are 5-D), so the error is recorded and only the 4-D weights are
     switched;
   - ``bf16_channels_last_3d``: 4-D weights channels_last and 5-D (Conv3d) weights channels_last_3d;
   - ``bf16_cuda_graph``: the eager bf16 call captured by hand in a CUDA graph (static inputs, warm-up
     on a side stream, replay), checked against eager (max abs diff, also after new input values);
   - ``fp16_eager``: float16 instead of bfloat16 (runs last: it converts the weights);
4. profiles the bf16 eager call with ``torch.profiler`` (CPU + CUDA activities): the top kernels, the
   kernel-busy vs idle share of the call (launch-overhead indicator), the time by module class (ranges
   from forward hooks: ``Attention[multiview]`` is the attention of the multiview path, etc.), by
   cascade path (spatial / multiview / temporal) and by UNet block; writes a gzipped chrome trace of
   one call;
5. times every Conv3d shape seen in the call in isolation against the same convolution as a Conv2d
   over a free view ``[B, C, F, H*W]`` (kernel ``(k, 1)``) and as ``k`` shifted matmuls.

Writes ``OUT/profile.json`` (all numbers; rewritten after every stage, so a run cut short keeps what
it measured), ``OUT/kernels.txt`` (tables) and ``OUT/trace.json.gz``; prints a short summary.

    python benchmarks/profile_sampling.py --out profile_sampling_h100            # on a GPU, ~3 min
    python benchmarks/profile_sampling.py --config tiny --device cpu --reps 2 --out /tmp/p   # smoke test
    python benchmarks/profile_sampling.py --device meta --out /tmp/flops   # FLOP count only, any machine
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import platform
import statistics
import sys
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from genxd.models import UNetMVTemporalConditionModel
from genxd.pipelines.fast import enable_fast_path, input_checks_skipped

HERE = Path(__file__).resolve().parent

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


# --------------------------------------------------------------------------------- module labelling
def module_labels(unet: nn.Module) -> dict[str, dict[str, Any]]:
    """For every module that gets a profiler range: ``{fqn: {module, cls, label, path, block}}``.

    ``label`` is the class name with the cascade path in brackets when the module sits in one
    (``Attention[multiview]``, ``Conv3d[temporal]``); ``block`` is the UNet block (``down_blocks.0``,
    ``mid_block``, ``conv_in``, ...). The root model and containers get none.
    """
    modules = dict(unet.named_modules())
    path_of: dict[str, str | None] = {"": None}
    info: dict[str, dict[str, Any]] = {}
    for fqn, module in modules.items():
        if not fqn:
            continue
        parent_fqn, _, attr = fqn.rpartition(".")
        parent = modules[parent_fqn]
        path = path_of.get(parent_fqn)
        if type(parent).__name__ == "MVCascadeTemporalResBlock" and attr in PATH_OF_RES_ATTRIBUTE:
            path = PATH_OF_RES_ATTRIBUTE[attr]
        if type(module).__name__ in PATH_OF_BLOCK_CLASS:
            path = PATH_OF_BLOCK_CLASS[type(module).__name__]
        path_of[fqn] = path
        cls = type(module).__name__
        if cls in UNHOOKED_CLASSES:
            continue
        parts = fqn.split(".")
        block = ".".join(parts[:2]) if parts[0] in ("down_blocks", "up_blocks") and len(parts) > 1 else parts[0]
        info[fqn] = {"module": module, "cls": cls, "label": f"{cls}[{path}]" if path else cls, "path": path, "block": block}
    return info


@contextlib.contextmanager
def module_ranges(labels: dict[str, dict[str, Any]]) -> Iterator[dict[str, dict[str, Any]]]:
    """Open a ``record_function`` range ``genxd.mod::<label> <fqn>`` around every labelled module's
    forward (pre/post hooks; closed even when the forward raises). Yields ``{range name: info}``."""
    from torch.autograd.profiler import record_function

    handles = []
    by_range: dict[str, dict[str, Any]] = {}
    for fqn, item in labels.items():
        name = f"{MODULE_RANGE}{item['label']} {fqn}"
        by_range[name] = item
        stack: list = []

        def pre(_module, _args, _name=name, _stack=stack):
            rf = record_function(_name)
            rf.__enter__()
            _stack.append(rf)

        def post(_module, _args, _out, _stack=stack):
            if _stack:
                _stack.pop().__exit__(None, None, None)

        handles.append(item["module"].register_forward_pre_hook(pre))
        handles.append(item["module"].register_forward_hook(post, always_call=True))
    try:
        yield by_range
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------------------------- FLOPs
def count_flops(unet: nn.Module, inputs: dict[str, Tensor], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """FLOPs of one call with ``FlopCounterMode``: total, per op, per module label/class/block.

    Per label: ``total`` (inclusive, counting each module once even if nested in one of the same
    label) and ``self`` (minus the module's children). Attention FLOPs (``4 * B * N^2 * C`` per
    self-attention) are also computed from the inputs of every ``Attention`` (``sdpa_analytic``);
    ``sdpa_counted`` is what the counter attributed to the ``Attention`` modules themselves (the
    flash/efficient SDPA op on CUDA, ``bmm`` on the math path); when that is zero (no formula for
    the kernel that ran, e.g. the CPU flash kernel) the analytic figure is added to ``total_used``
    (the figure TFLOP/s is computed from).
    """
    from torch.utils.flop_counter import FlopCounterMode

    attn_flops: Counter = Counter()
    attn_shapes: dict[str, Counter] = defaultdict(Counter)
    handles = []
    for item in labels.values():
        if item["cls"] != "Attention":
            continue

        def hook(module, args, kwargs, _label=item["label"]):
            h = args[0] if args else kwargs["hidden_states"]
            if kwargs.get("encoder_hidden_states") is not None:
                return  # cross-attention: not in this model
            if h.dim() == 4:  # [B, C, H, W]
                b, c, n = h.shape[0], h.shape[1], h.shape[2] * h.shape[3]
            else:  # [B, N, C]
                b, n, c = h.shape
            attn_flops[_label] += 4 * b * n * n * c
            attn_shapes[_label][f"batch={b} tokens={n} channels={c} heads={module.heads}"] += 1

        handles.append(item["module"].register_forward_pre_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            unet(**inputs)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    total = int(counter.get_total_flops())
    per_op = {str(op): int(v) for op, v in counts.get("Global", {}).items()}
    sdpa_analytic = int(sum(attn_flops.values()))

    root = type(unet).__name__
    module_total: dict[str, int] = {}
    for key, ops in counts.items():
        if key == "Global" or key == root:
            continue
        fqn = key[len(root) + 1:] if key.startswith(root + ".") else key
        module_total[fqn] = int(sum(ops.values()))
    children: dict[str, list[str]] = defaultdict(list)
    for fqn in module_total:
        parent = fqn.rpartition(".")[0]
        while parent and parent not in module_total:
            parent = parent.rpartition(".")[0]
        if parent:
            children[parent].append(fqn)

    def aggregate(key: str) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "self": 0})
        for fqn, tot in module_total.items():
            item = labels.get(fqn)
            if item is None:
                continue
            name = item[key]
            out[name]["self"] += tot - sum(module_total[c] for c in children.get(fqn, ()))
            ancestors = fqn.split(".")
            nested = any(
                labels.get(".".join(ancestors[:i]), {}).get(key) == name for i in range(1, len(ancestors))
            )
            if not nested:
                out[name]["total"] += tot
        return {k: v for k, v in sorted(out.items(), key=lambda kv: -kv[1]["total"]) if v["total"] or v["self"]}

    # what the counter saw of attention, whatever kernel ran (flash/efficient op, or bmm on the math
    # path): the Attention modules' own FLOPs, i.e. without their q/k/v/out Linear children
    sdpa_counted = sum(
        module_total[fqn] - sum(module_total[c] for c in children.get(fqn, ()))
        for fqn, item in labels.items() if item["cls"] == "Attention" and fqn in module_total
    )
    used = total + (sdpa_analytic if sdpa_counted == 0 else 0)
    return {
        "total": total,
        "total_used": used,
        "sdpa_counted": sdpa_counted,
        "sdpa_analytic": sdpa_analytic,
        "sdpa_added_analytically": sdpa_counted == 0 and sdpa_analytic > 0,
        "per_op": dict(sorted(per_op.items(), key=lambda kv: -kv[1])),
        "by_class": aggregate("label"),
        "by_class_plain": aggregate("cls"),
        "by_block": aggregate("block"),
        "attention_analytic_by_label": dict(attn_flops.most_common()),
        "attention_shapes_by_label": {k: dict(v) for k, v in attn_shapes.items()},
    }


# ------------------------------------------------------------------------------------------ variants
class Runner:
    """Holds the model, inputs and settings shared by the variants; each variant returns a dict."""

    def __init__(self, unet: UNetMVTemporalConditionModel, args: argparse.Namespace, device: torch.device) -> None:
        self.unet = unet
        self.args = args
        self.device = device
        self.flops: float | None = None
        self.op_table: str | None = None  # torch.profiler's key_averages table, for kernels.txt
        self.inputs = {dt: guided_inputs(unet, args.res, args.frames, device, dt) for dt in (torch.bfloat16, torch.float16)}

    def _cudnn_benchmark(self, on: bool) -> None:
        torch.backends.cudnn.benchmark = on

    def _timed_eager(self, dtype: torch.dtype, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        inputs = self.inputs[dtype]
        with torch.no_grad():
            times, peak = time_calls(lambda: self.unet(**inputs), self.device, self.args.reps, self.args.warmup)
            out = self.unet(**inputs).sample
            dispatch = []
            for _ in range(min(5, self.args.reps)):  # CPU time to queue one call (GPU still running)
                sync(self.device)
                t = time.perf_counter()
                self.unet(**inputs)
                dispatch.append((time.perf_counter() - t) * 1000)
            sync(self.device)
        median = statistics.median(times)
        result = {
            "median_ms": median, "times_ms": times, "peak_gib": peak, "tflops_per_s": _tflops(self.flops, median),
            "cpu_dispatch_ms_median": statistics.median(dispatch), **_output_stats(out),
        }
        return {**(extra or {}), **result}

    def bf16_no_cudnn_benchmark(self) -> dict[str, Any]:
        if self.device.type != "cuda":
            return {"status": "skipped", "reason": "cudnn.benchmark only matters on CUDA"}
        self._cudnn_benchmark(False)
        try:
            set_weights(self.unet, torch.bfloat16)
            return self._timed_eager(torch.bfloat16, {"cudnn_benchmark": False})
        finally:
            self._cudnn_benchmark(True)

    def bf16_eager(self) -> dict[str, Any]:
        self._cudnn_benchmark(self.device.type == "cuda")
        set_weights(self.unet, torch.bfloat16)
        return self._timed_eager(torch.bfloat16, {"cudnn_benchmark": torch.backends.cudnn.benchmark})

    def _channels_last(self, memory_format: str) -> dict[str, Any]:
        try:
            info = set_weights(self.unet, torch.bfloat16, memory_format)
            return self._timed_eager(torch.bfloat16, {"weights": info})
        finally:
            set_weights(self.unet, torch.bfloat16)

    def bf16_channels_last(self) -> dict[str, Any]:
        return self._channels_last("channels_last")

    def bf16_channels_last_3d(self) -> dict[str, Any]:
        return self._channels_last("channels_last_3d")

    def fp16_eager(self) -> dict[str, Any]:
        try:
            set_weights(self.unet, torch.float16)
            return self._timed_eager(torch.float16)
        finally:
            set_weights(self.unet, torch.bfloat16)

    def bf16_cuda_graph(self) -> dict[str, Any]:
        """Capture the eager bf16 call in a CUDA graph and time ``graph.replay()``.

        Capture rules followed: static input tensors (the graph reads their memory; new values are
        ``copy_``-ed in), warm-up on a side stream before capture, no host synchronisation inside
        (the UNet's input checks are skipped during warm-up and capture), the graph's private
        memory pool, no ``.item()`` until capture has ended.
        """
        if self.device.type != "cuda":
            return {"status": "skipped", "reason": "CUDA graphs need CUDA"}
        set_weights(self.unet, torch.bfloat16)
        static = self.inputs[torch.bfloat16]
        unet = self.unet
        with torch.no_grad():
            reference = unet(**static).sample.clone()
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side), input_checks_skipped(unet):
                for _ in range(3):
                    unet(**static)
            torch.cuda.current_stream(self.device).wait_stream(side)
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            graph = torch.cuda.CUDAGraph()
            t = time.perf_counter()
            with input_checks_skipped(unet), torch.cuda.graph(graph):
                static_out = unet(**static).sample
            torch.cuda.synchronize(self.device)
            capture_s = time.perf_counter() - t
            graph.replay()
            torch.cuda.synchronize(self.device)
            diff = (static_out.float() - reference.float()).abs().max().item()
            reference_abs_max = reference.float().abs().max().item()
            # the graph must follow new input values copied into the static tensors
            original = static["sample"].clone()
            g = torch.Generator(device="cpu").manual_seed(123)
            static["sample"].copy_(torch.randn(original.shape, generator=g).to(static["sample"]))
            graph.replay()
            replayed = static_out.clone()
            eager_new = unet(**static).sample
            diff_new = (replayed.float() - eager_new.float()).abs().max().item()
            static["sample"].copy_(original)
            times, peak = time_calls(graph.replay, self.device, self.args.reps, self.args.warmup)
            stats = _output_stats(static_out)
            del graph, static_out, reference, replayed, eager_new
        torch.cuda.empty_cache()
        median = statistics.median(times)
        return {
            "median_ms": median, "times_ms": times, "peak_gib": peak, "tflops_per_s": _tflops(self.flops, median),
            "capture_s": capture_s, "max_abs_diff_vs_eager": diff, "max_abs_diff_vs_eager_new_input": diff_new,
            "reference_abs_max": reference_abs_max, **stats,
        }


# ------------------------------------------------------------------------------------------ profiler
def _device_type_name(evt) -> str:
    return str(getattr(evt, "device_type", "")).rsplit(".", 1)[-1].upper()


def _is_device_event(evt) -> bool:
    """A device (GPU) kernel / memcpy / memset event, not a user annotation mirrored on the GPU."""
    if _device_type_name(evt) not in ("CUDA", "HIP", "XPU", "PRIVATEUSE1"):
        return False
    activity = str(getattr(evt, "activity_type", "")).lower()
    if any(word in activity for word in ("annotation", "sync", "overhead", "marker")):
        return False
    return not evt.name.startswith(RANGE_PREFIX) and not evt.name.startswith("ProfilerStep")


def _is_cpu_event(evt) -> bool:
    return _device_type_name(evt) == "CPU" and not getattr(evt, "is_async", False)


def _own_device_us(evt) -> float:
    """Device time of the kernels launched directly by a CPU op (annotation mirrors excluded)."""
    if evt.name.startswith(RANGE_PREFIX) or getattr(evt, "is_legacy", False):
        return 0.0
    return float(sum(getattr(k, "duration", 0) for k in getattr(evt, "kernels", ()) if not str(k.name).startswith(RANGE_PREFIX)))


def kernel_category(name: str) -> str:
    """Rough kind of a CUDA kernel from its name (first match in :data:`KERNEL_CATEGORIES`)."""
    low = name.lower()
    for cat, words in KERNEL_CATEGORIES:
        if any(w in low for w in words):
            return cat
    return "other"


def _interval_union_us(intervals: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def profile_calls(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, calls: int) -> Any:
    """``torch.profiler`` over ``calls`` synchronised calls, each inside a ``genxd.call#i`` range."""
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.no_grad():
        unet(**inputs)
        sync(device)
        with profile(activities=activities) as prof:
            for i in range(calls):
                with record_function(f"{CALL_RANGE}{i}"):
                    unet(**inputs)
                    sync(device)
    return prof


def kernel_summary(prof: Any, calls: int, device: torch.device, eager_median_ms: float | None, top: int) -> dict[str, Any]:
    """Top kernels (CUDA) or top CPU ops (CPU), kernel counts, busy and idle time per call."""
    events = list(prof.events())
    call_ranges = [(e.time_range.start, e.time_range.end) for e in events if _is_cpu_event(e) and e.name.startswith(CALL_RANGE)]
    out: dict[str, Any] = {"calls": calls}
    if device.type == "cuda":
        kernels = [e for e in events if _is_device_event(e)]
        out["basis"] = "cuda kernel time (device events: kernels, memcpy, memset)"
        durations = [(e.name, e.time_range.end - e.time_range.start) for e in kernels]
    else:
        kernels = []
        out["basis"] = "cpu self time of ops (no CUDA: kernel, busy and idle figures skipped)"
        durations = [(e.name, e.self_cpu_time_total) for e in events
                     if _is_cpu_event(e) and not e.name.startswith(RANGE_PREFIX)]
    total_us = sum(d for _, d in durations)
    by_name: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for name, d in durations:
        by_name[name][0] += 1
        by_name[name][1] += d
    rows = sorted(by_name.items(), key=lambda kv: -kv[1][1])[:top]
    out["top"] = [
        {"name": name[:120], "count": int(c), "count_per_call": c / calls, "total_ms": t / 1000,
         "ms_per_call": t / 1000 / calls, "pct": 100 * t / total_us if total_us else 0.0}
        for name, (c, t) in rows
    ]
    out["distinct_names"] = len(by_name)
    out["total_ms_per_call"] = total_us / 1000 / calls
    out["events_per_call"] = len(durations) / calls
    if device.type != "cuda":
        out["idle"] = {"status": "skipped", "reason": "needs CUDA kernel events"}
        return out
    out["kernels_per_call"] = len(kernels) / calls
    categories: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for name, d in durations:
        cat = kernel_category(name)
        categories[cat][0] += 1
        categories[cat][1] += d
    out["by_category"] = {
        cat: {"count_per_call": c / calls, "ms_per_call": t / 1000 / calls, "pct": 100 * t / total_us if total_us else 0.0}
        for cat, (c, t) in sorted(categories.items(), key=lambda kv: -kv[1][1])
    }
    out["by_category_note"] = "heuristic, from kernel names (first match of KERNEL_CATEGORIES); by_class is exact"
    out["mean_kernel_us"] = total_us / len(kernels) if kernels else None
    out["busy_ms_per_call"] = total_us / 1000 / calls
    idle: dict[str, Any] = {}
    if eager_median_ms:
        idle["unprofiled_median_ms"] = eager_median_ms
        idle["idle_share_vs_unprofiled_median"] = 1 - out["busy_ms_per_call"] / eager_median_ms
    per_call = []
    intervals = sorted((e.time_range.start, e.time_range.end) for e in kernels)
    for start, end in call_ranges:
        inside = [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]
        busy = _interval_union_us(inside)
        span = (max(e for _, e in inside) - min(s for s, _ in inside)) if inside else 0.0
        per_call.append({"wall_ms": (end - start) / 1000, "busy_ms": busy / 1000, "gpu_span_ms": span / 1000,
                         "kernels": len(inside)})
    if per_call:
        wall = sum(c["wall_ms"] for c in per_call)
        busy = sum(c["busy_ms"] for c in per_call)
        idle["per_call_in_profile"] = per_call
        idle["idle_share_in_profile"] = 1 - busy / wall if wall else None
        idle["note"] = ("wall = CPU range of the call incl. final synchronize (profiler overhead included); "
                        "busy = union of kernel intervals inside it; idle = wall - busy. "
                        "idle_share_vs_unprofiled_median compares kernel time with the unprofiled median.")
    out["idle"] = idle
    return out


def module_breakdown(prof: Any, by_range: dict[str, dict[str, Any]], calls: int, device: torch.device) -> dict[str, Any]:
    """Time per module label / class / cascade path / UNet block from the module ranges.

    Each CPU op's own time (device time of the kernels it launched, or its self CPU time without
    CUDA) goes to the innermost enclosing range (``self``) and, once, to every distinct name among
    its enclosing ranges (``total``). Ops under no range of a grouping get :data:`OUTSIDE`'s name.
    """
    use_device = device.type == "cuda"
    events = [e for e in prof.events() if _is_cpu_event(e)]
    chains: dict[int, tuple[str, ...]] = {}

    def chain_of(evt) -> tuple[str, ...]:
        key = id(evt)
        if key in chains:
            return chains[key]
        path, node, todo = (), evt, []
        while node is not None and id(node) not in chains:
            todo.append(node)
            node = getattr(node, "cpu_parent", None)
        if node is not None:
            path = chains[id(node)]
        for n in reversed(todo):
            if n.name in by_range:
                path = path + (n.name,)
            chains[id(n)] = path
        return chains[key]

    own: list[tuple[tuple[str, ...], float]] = []
    for e in events:
        t = _own_device_us(e) if use_device else (0.0 if e.name.startswith(CALL_RANGE) else e.self_cpu_time_total)
        if t:
            own.append((chain_of(e), t))
    attributed = sum(t for _, t in own)
    device_total = None
    coverage_fallback = False
    if use_device:
        kernels = [e for e in prof.events() if _is_device_event(e)]
        device_total = sum(k.time_range.end - k.time_range.start for k in kernels)
        if device_total and attributed < 0.5 * device_total:
            # fallback: link each kernel to the CPU runtime call that launched it (same correlation id)
            runtime = {e.id: e for e in events if e.name.startswith(("cuda", "cu")) and not e.name.startswith(RANGE_PREFIX)}
            own = [(chain_of(runtime[k.id]), k.time_range.end - k.time_range.start) for k in kernels if k.id in runtime]
            attributed = sum(t for _, t in own)
            coverage_fallback = True
    counts = Counter(e.name for e in events if e.name in by_range)

    def group(key: str) -> dict[str, dict[str, float]]:
        outside = OUTSIDE[key]
        acc: dict[str, dict[str, float]] = defaultdict(lambda: {"self_us": 0.0, "total_us": 0.0, "calls": 0})
        for chain, t in own:
            names = [by_range[r][key] for r in chain if by_range[r][key] is not None]
            acc[names[-1] if names else outside]["self_us"] += t
            for name in set(names):
                acc[name]["total_us"] += t
        for rng, n in counts.items():
            name = by_range[rng][key]
            if name is not None:
                acc[name]["calls"] += n
        acc[outside]["total_us"] = acc[outside]["self_us"]
        base = attributed or 1.0
        return {
            name: {"self_ms_per_call": v["self_us"] / 1000 / calls, "total_ms_per_call": v["total_us"] / 1000 / calls,
                   "self_pct": 100 * v["self_us"] / base, "total_pct": 100 * v["total_us"] / base,
                   "count_per_call": v["calls"] / calls}
            for name, v in sorted(acc.items(), key=lambda kv: -kv[1]["self_us"]) if v["self_us"] or v["total_us"]
        }

    return {
        "basis": "cuda kernel time" if use_device else "cpu self time",
        "attributed_ms_per_call": attributed / 1000 / calls,
        "device_kernel_ms_per_call": device_total / 1000 / calls if device_total is not None else None,
        "attribution_via_runtime_correlation": coverage_fallback,
        "by_class": group("label"),
        "by_class_plain": group("cls"),
        "by_path": group("path"),
        "by_block": group("block"),
    }


def export_trace(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, labels, out_dir: Path,
                 max_mb: float) -> dict[str, Any]:
    """Chrome trace of one call with module ranges, gzipped to ``trace.json.gz`` (dropped above ``max_mb``)."""
    with module_ranges(labels):
        prof = profile_calls(unet, inputs, device, 1)
    raw = out_dir / "trace.json"
    gz = out_dir / "trace.json.gz"
    prof.export_chrome_trace(str(raw))
    with open(raw, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    raw_mb = raw.stat().st_size / 2**20
    raw.unlink()
    mb = gz.stat().st_size / 2**20
    if mb > max_mb:
        gz.unlink()
        return {"status": "skipped", "reason": f"gzipped trace {mb:.1f} MB > {max_mb} MB", "raw_mb": raw_mb}
    return {"status": "ok", "path": gz.name, "mb": mb, "raw_mb": raw_mb}


# -------------------------------------------------------------------------------------------- Conv3d
def conv3d_shapes(unet: nn.Module, inputs: dict[str, Tensor]) -> list[dict[str, Any]]:
    """Distinct Conv3d (module settings, input shape) seen in one call, with counts per call."""
    seen: dict[tuple, dict[str, Any]] = {}
    handles = []
    for fqn, module in unet.named_modules():
        if not isinstance(module, nn.Conv3d):
            continue

        def hook(mod, args, _fqn=fqn):
            x = args[0]
            key = (tuple(x.shape), mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                   mod.dilation, mod.groups, mod.bias is not None, x.dtype)
            if key not in seen:
                seen[key] = {"module": mod, "input_shape": list(x.shape), "count_per_call": 0, "example": _fqn,
                             "kernel_size": list(mod.kernel_size), "padding": list(mod.padding),
                             "in_channels": mod.in_channels, "out_channels": mod.out_channels,
                             "input_contiguous": x.is_contiguous(), "dtype": str(x.dtype)}
            seen[key]["count_per_call"] += 1

        handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            unet(**inputs)
    finally:
        for h in handles:
            h.remove()
    return list(seen.values())


def conv3d_alternatives(conv: nn.Conv3d, x: Tensor) -> dict[str, Callable[[], Tensor]]:
    """The conv as ``conv3d``, as ``conv2d`` over the free view ``[B, C, F, H*W]`` with kernel
    ``(k, 1)``, and as ``k`` shifted ``[Cout, Cin] @ [B, Cin, F*H*W]`` matmuls (bias added once).
    Only for kernels ``(k, 1, 1)``, stride 1, no dilation, one group, spatial padding 0."""
    fns: dict[str, Callable[[], Tensor]] = {"conv3d": lambda: conv(x)}
    kt, kh, kw = conv.kernel_size
    pt = conv.padding[0]
    plain = isinstance(conv.padding, tuple) and tuple(conv.padding[1:]) == (0, 0) and (kh, kw) == (1, 1) \
        and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1) and conv.groups == 1
    if not plain:
        return fns
    b, ci, f, h, w = x.shape
    co = conv.out_channels
    weight, bias = conv.weight, conv.bias
    w2d = weight.reshape(co, ci, kt, 1)
    taps = [weight[:, :, k, 0, 0].contiguous() for k in range(kt)]
    f_out = f + 2 * pt - kt + 1

    def conv2d_view() -> Tensor:
        y = F_.conv2d(x.reshape(b, ci, f, h * w), w2d, bias, padding=(pt, 0))
        return y.view(b, co, f_out, h, w)

    def matmul_shifted() -> Tensor:
        xp = F_.pad(x.reshape(b, ci, f, h * w), (0, 0, pt, pt)) if pt else x.reshape(b, ci, f, h * w)
        y = torch.matmul(taps[0], xp[:, :, 0:f_out].reshape(b, ci, f_out * h * w))
        for k in range(1, kt):
            y = y + torch.matmul(taps[k], xp[:, :, k:k + f_out].reshape(b, ci, f_out * h * w))
        if bias is not None:
            y = y + bias[:, None]
        return y.view(b, co, f_out, h, w)

    fns["conv2d_k1_view"] = conv2d_view
    fns["matmul_shifted"] = matmul_shifted
    return fns


def conv3d_study(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, reps: int) -> dict[str, Any]:
    """Time each Conv3d shape of the call three ways; per-call totals (count x ms) per way."""
    rows = []
    totals: Counter = Counter()
    g = torch.Generator(device="cpu").manual_seed(0)
    for shape in conv3d_shapes(unet, inputs):
        conv = shape.pop("module")
        x = torch.randn(shape["input_shape"], generator=g).to(device=device, dtype=conv.weight.dtype)
        with torch.no_grad():
            fns = conv3d_alternatives(conv, x)
            ref = fns["conv3d"]().float()
            row = {**shape, "ms": {}, "max_abs_diff": {}, "reference_abs_max": ref.abs().max().item()}
            for name, fn in fns.items():
                try:
                    if name != "conv3d":
                        row["max_abs_diff"][name] = (fn().float() - ref).abs().max().item()
                    row["ms"][name] = time_op(fn, device, reps)
                    totals[name] += row["ms"][name] * shape["count_per_call"]
                except Exception as err:  # noqa: BLE001 - record and go on
                    row.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"
        rows.append(row)
    best = min((v for k, v in totals.items() if k != "conv3d"), default=None)
    return {
        "shapes": rows,
        "ms_per_call_by_method": dict(totals),
        "conv3d_calls_per_call": sum(r["count_per_call"] for r in rows),
        "best_alternative_saves_ms_per_call": totals["conv3d"] - best if best is not None else None,
        "note": "ms per call = sum over shapes of (calls of that shape per UNet call x isolated ms); isolated "
                "timings exclude the surrounding kernels' cache effects",
    }


# ----------------------------------------------------------------------------------------- reporting
def _table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_kernels_txt(result: dict[str, Any], out_dir: Path, op_table: str | None) -> None:
    parts = []
    rows = [[name, v["median_ms"], v.get("peak_gib") or 0.0, v.get("tflops_per_s") or 0.0]
            for name, v in result["variants"].items() if "median_ms" in v]
    if rows:
        parts.append("# variants (median ms of one guided call)\n")
        parts.append(_table(rows, ["variant", "median ms", "peak GiB", "TFLOP/s"]) + "\n\n")
    prof = result.get("profile", {})
    ks = prof.get("kernels")
    if isinstance(ks, dict) and "top" in ks:
        parts.append(f"# top by {ks['basis']}, {ks['calls']} calls\n")
        parts.append(_table([[r["name"], r["count_per_call"], r["ms_per_call"], r["pct"]] for r in ks["top"]],
                            ["name", "count/call", "ms/call", "%"]))
        if "by_category" in ks:
            parts.append(f"\n\n# kernels by kind ({ks['by_category_note']})\n")
            parts.append(_table([[k, v["count_per_call"], v["ms_per_call"], v["pct"]] for k, v in ks["by_category"].items()],
                                ["kind", "count/call", "ms/call", "%"]))
        idle = {k: v for k, v in ks.get("idle", {}).items() if k != "per_call_in_profile"}
        parts.append(f"\n\n# busy / idle\nkernels per call: {ks.get('kernels_per_call')}, busy ms per call: "
                     f"{ks.get('busy_ms_per_call')}\n{json.dumps(idle, indent=1)}")
    mods = prof.get("modules")
    if isinstance(mods, dict):
        for key in ("by_class", "by_class_plain", "by_path", "by_block"):
            parts.append(f"\n\n# {key} ({mods['basis']}; self = innermost range, total = inclusive)\n")
            parts.append(_table([[k, v["count_per_call"], v["self_ms_per_call"], v["self_pct"], v["total_ms_per_call"]]
                                 for k, v in mods[key].items()], [key, "count/call", "self ms", "self %", "total ms"]))
    conv = result.get("conv3d", {})
    if isinstance(conv, dict) and conv.get("shapes"):
        methods = list(conv["ms_per_call_by_method"])
        parts.append("\n\n# Conv3d in isolation (ms per conv; last row: ms per UNet call)\n")
        body = [[f"{r['input_shape']} k{r['kernel_size']} {r['in_channels']}->{r['out_channels']}", r["count_per_call"],
                 *[r["ms"].get(m, float("nan")) for m in methods]] for r in conv["shapes"]]
        body.append(["per UNet call", conv["conv3d_calls_per_call"], *[conv["ms_per_call_by_method"][m] for m in methods]])
        parts.append(_table(body, ["input shape / kernel / channels", "count/call", *methods]))
    if op_table:
        parts.append("\n\n# torch.profiler key_averages (top ops)\n" + op_table)
    (out_dir / "kernels.txt").write_text("".join(parts) + "\n")


def print_summary(result: dict[str, Any]) -> None:
    meta = result["meta"]
    print(f"\n== profile_sampling: {meta['config']} config, {meta['res']}px, {meta['frames']} frames, "
          f"{meta['parameters'] / 1e9:.3f}B params, {meta['device_name']}")
    flops = result.get("flops", {})
    if "total_used" in flops:
        print(f"FLOPs per call: {flops['total_used'] / 1e12:.3f} TFLOP (attention {max(flops['sdpa_counted'], flops['sdpa_analytic']) / 1e12:.3f})")
    rows = []
    for name, v in result["variants"].items():
        if "median_ms" in v:
            rows.append([name, v["median_ms"], v.get("peak_gib") or 0.0, v.get("tflops_per_s") or 0.0, v.get("status", "ok")])
        else:
            rows.append([name, "-", "-", "-", f"{v.get('status')}: {str(v.get('reason') or v.get('error'))[:70]}"])
    print(_table(rows, ["variant", "median ms", "peak GiB", "TFLOP/s", "status"]))
    prof = result.get("profile", {})
    ks = prof.get("kernels")
    if isinstance(ks, dict) and "top" in ks:
        print(f"\ntop 10 ({ks['basis']}):")
        print(_table([[r["name"][:70], r["count_per_call"], r["ms_per_call"], r["pct"]] for r in ks["top"][:10]],
                     ["name", "count/call", "ms/call", "%"]))
        if "by_category" in ks:
            print("by kernel kind (heuristic): " + ", ".join(f"{k} {v['pct']:.1f}%" for k, v in ks["by_category"].items()))
        idle = ks.get("idle", {})
        if "idle_share_vs_unprofiled_median" in idle or "idle_share_in_profile" in idle:
            print(f"kernels/call {ks.get('kernels_per_call')}, busy {ks.get('busy_ms_per_call'):.2f} ms/call, "
                  f"idle vs unprofiled median {idle.get('idle_share_vs_unprofiled_median')}, "
                  f"idle in profile {idle.get('idle_share_in_profile')}")
    mods = prof.get("modules")
    if isinstance(mods, dict):
        for key in ("by_class", "by_path"):
            print(f"\n{key} ({mods['basis']}):")
            print(_table([[k, v["count_per_call"], v["self_ms_per_call"], v["self_pct"]] for k, v in list(mods[key].items())[:15]],
                         [key, "count/call", "self ms", "self %"]))
    conv = result.get("conv3d", {})
    if "ms_per_call_by_method" in conv:
        print(f"\nConv3d per call by method (ms): {json.dumps({k: round(v, 3) for k, v in conv['ms_per_call_by_method'].items()})}")
    if result["errors"]:
        print("\nerrors:", *[f"  {e['stage']}: {e['error']}" for e in result["errors"]], sep="\n")


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(DEFAULT_SHAPE), default="released")
    ap.add_argument("--res", type=int, default=None, help="image resolution (latents res/8); default 256 (tiny: 32)")
    ap.add_argument("--frames", type=int, default=None, help="frames per sample; default 12 (tiny: 2)")
    ap.add_argument("--out", default="profile_sampling_out", help="output folder")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANT_ORDER), choices=VARIANT_ORDER)
    ap.add_argument("--device", default=None, help="cuda (default when available), cpu, or meta (FLOP count only)")
    ap.add_argument("--profile-calls", type=int, default=5, help="calls per torch.profiler run")
    ap.add_argument("--top", type=int, default=40, help="kernels listed")
    ap.add_argument("--trace-max-mb", type=float, default=15.0)
    ap.add_argument("--no-profile", action="store_true", help="skip torch.profiler (stage 4)")
    ap.add_argument("--no-conv3d", action="store_true", help="skip the Conv3d study (stage 5)")
    args = ap.parse_args(argv)
    res, frames = DEFAULT_SHAPE[args.config]
    args.res = args.res or res
    args.frames = args.frames or frames
    if args.reps < 1 or args.warmup < 0 or args.profile_calls < 1:
        ap.error("--reps and --profile-calls must be >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type not in ("cuda", "cpu", "meta"):
        raise SystemExit(f"--device must be cuda, cpu or meta, got {args.device!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda given but CUDA is not available")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    cudnn_benchmark_before = torch.backends.cudnn.benchmark

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    flops_only = device.type == "meta"
    unet = build_unet(args.config, device)
    if not flops_only:
        enable_fast_path(_UNetOnly(unet), dtype=torch.bfloat16, compile=False, cuda_graph=False, device=device)
    set_weights(unet, torch.bfloat16)  # enable_fast_path keeps float32 without CUDA; the profile is of bf16
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the float32 build's blocks
    result: dict[str, Any] = {
        "meta": {
            "config": args.config, "res": args.res, "frames": args.frames, "batch": 2, "latent": args.res // 8,
            "parameters": sum(p.numel() for p in unet.parameters()), "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
            else "meta (FLOP count only)" if flops_only else platform.processor() or "cpu",
            "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
            "python": sys.version.split()[0], "reps": args.reps, "warmup": args.warmup, "argv": sys.argv[1:] if argv is None else argv,
            "attention_processors": sorted({type(m.processor).__name__ for m in unet.modules() if hasattr(m, "processor")}),
        },
        "variants": {}, "errors": [],
    }
    runner = Runner(unet, args, device)
    labels = module_labels(unet)

    def save() -> None:
        result["meta"]["elapsed_s"] = time.perf_counter() - t_start
        (out_dir / "profile.json").write_text(json.dumps(result, indent=2, default=str))

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        log(f"{name} ...")
        try:
            value = fn()
        except Exception as err:  # noqa: BLE001 - record and go on: one run must give everything it can
            value = {"status": "error", "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()[-3000:]}
            result["errors"].append({"stage": name, "error": value["error"]})
            log(f"{name} failed: {value['error']}")
            if device.type == "cuda":
                with contextlib.suppress(Exception):
                    torch.cuda.synchronize(device)
                    torch.cuda.empty_cache()
            with contextlib.suppress(Exception):
                set_weights(unet, torch.bfloat16)
        return value

    try:
        with input_checks_skipped(unet) if flops_only else contextlib.nullcontext():  # meta values are unknown
            result["flops"] = stage("flops", lambda: count_flops(unet, runner.inputs[torch.bfloat16], labels))
        if isinstance(result["flops"], dict) and "total_used" in result["flops"]:
            runner.flops = result["flops"]["total_used"]
        save()
        wanted = set(args.variants)
        if flops_only:
            result["meta"]["note"] = "--device meta: FLOP count only (no timing, profile or Conv3d study)"
        for name in VARIANT_ORDER if not flops_only else ():
            if name in wanted:
                value = stage(f"variant {name}", getattr(runner, name))
                value.setdefault("status", "ok")
                result["variants"][name] = value
                save()
            if name == "bf16_eager":  # stages 4-5 profile the bf16 eager model, before weights are converted
                _profile_and_conv3d(result, runner, labels, args, device, out_dir, stage, save)
        base = result["variants"].get("bf16_eager", {}).get("median_ms")
        for v in result["variants"].values():
            if base and "median_ms" in v:
                v["speedup_vs_bf16_eager"] = base / v["median_ms"]
    finally:
        torch.backends.cudnn.benchmark = cudnn_benchmark_before
        save()
        if "profile" in result and not args.no_profile:
            with contextlib.suppress(Exception):
                write_kernels_txt(result, out_dir, runner.op_table)
    print_summary(result)
    log(f"wrote {out_dir / 'profile.json'}")
    return result


def _profile_and_conv3d(result, runner: Runner, labels, args, device, out_dir: Path, stage, save) -> None:
    """Stages 4 and 5 on the bf16 eager model (cudnn.benchmark on, as in ``bf16_eager``)."""
    unet, inputs = runner.unet, runner.inputs[torch.bfloat16]
    set_weights(unet, torch.bfloat16)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    profile: dict[str, Any] = {}
    result["profile"] = profile
    op_table: list[str | None] = [None]
    if args.no_profile:
        profile["status"] = "skipped: --no-profile"
    else:
        eager_ms = result["variants"].get("bf16_eager", {}).get("median_ms")

        def kernels() -> dict[str, Any]:
            prof = profile_calls(unet, inputs, device, args.profile_calls)
            summary = kernel_summary(prof, args.profile_calls, device, eager_ms, args.top)
            with contextlib.suppress(Exception):
                sort = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
                try:
                    op_table[0] = prof.key_averages().table(sort_by=sort, row_limit=30, max_name_column_width=80)
                except Exception:  # noqa: BLE001 - older attribute name
                    op_table[0] = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=30, max_name_column_width=80)
            return summary

        profile["kernels"] = stage("profile kernels", kernels)
        save()

        def modules() -> dict[str, Any]:
            with module_ranges(labels) as by_range:
                prof = profile_calls(unet, inputs, device, args.profile_calls)
            return module_breakdown(prof, by_range, args.profile_calls, device)

        profile["modules"] = stage("profile modules", modules)
        save()
        profile["trace"] = stage("chrome trace", lambda: export_trace(unet, inputs, device, labels, out_dir, args.trace_max_mb))
        write_kernels_txt(result, out_dir, op_table[0])
        save()
    if args.no_conv3d:
        result["conv3d"] = {"status": "skipped: --no-conv3d"}
    else:
        result["conv3d"] = stage("conv3d study", lambda: conv3d_study(unet, inputs, device, args.reps))
    save()
    runner.op_table = op_table[0]
    if not args.no_profile:
        write_kernels_txt(result, out_dir, runner.op_table)


if __name__ == "__main__":
    main()
