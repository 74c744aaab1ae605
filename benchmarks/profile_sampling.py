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

The stages live in ``benchmarks/sampling_profile/`` (``common``: model, inputs, timing; ``flops``; ``variants``;
``kernels``: the profiler breakdowns; ``conv3d``; ``report``); this file runs them in order.

    python benchmarks/profile_sampling.py --out profile_sampling_h100            # on a GPU, ~3 min
    python benchmarks/profile_sampling.py --config tiny --device cpu --reps 2 --out /tmp/p   # smoke test
    python benchmarks/profile_sampling.py --device meta --out /tmp/flops   # FLOP count only, any machine
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_output import save_json  # noqa: E402
from genxd.pipelines.fast import enable_fast_path, input_checks_skipped  # noqa: E402
from sampling_profile.common import (  # noqa: E402
    DEFAULT_SHAPE, TINY_CONFIG, VARIANT_ORDER, _UNetOnly, bench_sampling, build_unet, guided_inputs, set_weights,
)
from sampling_profile.conv3d import conv3d_alternatives, conv3d_shapes, conv3d_study  # noqa: E402
from sampling_profile.flops import count_flops, module_labels, module_ranges  # noqa: E402
from sampling_profile.kernels import export_trace, kernel_category, kernel_summary, module_breakdown, profile_calls  # noqa: E402
from sampling_profile.report import print_summary, write_kernels_txt  # noqa: E402
from sampling_profile.variants import Runner  # noqa: E402

__all__ = ["main", "parse_args", "build_unet", "guided_inputs", "set_weights", "count_flops", "module_labels",
           "module_ranges", "Runner", "profile_calls", "kernel_summary", "kernel_category", "module_breakdown",
           "export_trace", "conv3d_shapes", "conv3d_alternatives", "conv3d_study", "input_checks_skipped",
           "TINY_CONFIG", "bench_sampling"]


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
        save_json(out_dir / "profile.json", result, indent=2, default=str, quiet=True)  # atomic; also mid-run

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
