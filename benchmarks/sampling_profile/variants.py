"""The timed variants of one guided call (dtype, cuDNN benchmark, memory formats, a hand-made CUDA graph)."""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from genxd.models import UNetMVTemporalConditionModel
from genxd.pipelines.fast import input_checks_skipped

from .common import _output_stats, _tflops, guided_inputs, set_weights, sync, time_calls


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
