"""Sampling speed and memory: float32 eager (the authors' numerics) vs the genxd fast path.

Times, in one run and on one GPU:
  - one guided UNet call (batch 2 x F frames) at each resolution,
  - a whole sample (25 Euler steps with guidance + VAE decoding),
for the released UNet configuration with random weights (or a checkpoint with --checkpoint), and
reports median times, peak memory, and how far the fast path's output is from the float32 path's
from the same noise, measured with a *trained* model (--quality-model, default: the bundled small
model), since random weights say nothing about output agreement.

    python benchmarks/bench_sampling.py --out bench_sampling.json
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

if TYPE_CHECKING:
    import torch

    from genxd.pipelines import GenXDPipeline

# torch and genxd are imported where they are used, not here: ``--help`` and argument errors answer at once
# instead of after the imports (about a minute on a loaded machine)

LAYOUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "released_unet_layout.json"
SVD_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
    block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=768,
    scaling_factor=0.18215, force_upcast=True,
)


def sync():
    import torch

    torch.cuda.synchronize()


def release() -> None:
    """Free what an earlier path left: compiled code (dynamo's caches hold the compiled blocks), graphs."""
    import torch

    torch._dynamo.reset()
    gc.collect()
    torch.cuda.empty_cache()


def timed(fn, reps: int, warmup: int, base_bytes: int = 0) -> tuple[list[float], float]:
    """Median-able times (ms) and the peak memory (GiB) of ``fn`` above ``base_bytes`` (what was allocated
    before this path's pipeline was built: leftovers of earlier paths in the same process do not count)."""
    import torch

    for _ in range(warmup):
        fn()
    sync()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(reps):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1000)
    return times, (torch.cuda.max_memory_allocated() - base_bytes) / 2**30


def build_pipe(checkpoint: str | None, dtype: torch.dtype) -> GenXDPipeline:
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    from genxd.models import UNetMVTemporalConditionModel
    from genxd.pipelines import GenXDPipeline

    if checkpoint:
        return GenXDPipeline.from_pretrained(checkpoint, torch_dtype=dtype)
    cfg = json.loads(LAYOUT.read_text())["config"]
    torch.manual_seed(0)
    with torch.device("cuda"):  # random init directly on the GPU (seconds instead of a minute on CPU)
        unet = UNetMVTemporalConditionModel.from_config(cfg).to(dtype)
        vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
    sched = EulerDiscreteScheduler.from_pretrained(Path(__file__).resolve().parents[1] / "tests/fixtures/reference_small", subfolder="scheduler")
    return GenXDPipeline(unet=unet, vae=vae, scheduler=sched)


INDICATORS = {"3d": 0, "4d": 2}


def unet_inputs(pipe, res: int, frames: int, device, mode: str = "3d"):
    """One guided call's inputs (batch 2 = both guidance branches). The indicator is passed as the pipeline
    passes it, one Python int for the batch: the float32 eager path (``skip_zero_weight_paths`` off) still
    computes every path, as the authors' code does."""
    import torch

    h = res // 8
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, frames, 15, h, h, generator=g).to(device, pipe.unet.dtype)
    ids = torch.zeros(2, frames, 2, device=device)
    ids[1, :, 1] = 1
    return dict(sample=x, timestep=torch.tensor(1.0, device=device), added_time_ids=ids,
                indicator=INDICATORS[mode], motion_ids=torch.full((2,), 10.0 if mode == "4d" else 0.0, device=device))


def sample_inputs(res: int, frames: int, down: int = 8, image: torch.Tensor | None = None):
    """Inputs of one 3D sample: ``image [1, 1, 3, res, res]`` (default: random pixels), an orbit, fixed noise
    ``[1, frames, 4, res/down, res/down]`` (``down``: the VAE's downsampling factor)."""
    import torch

    from genxd.cameras import orbit

    c2w, K = orbit(num_frames=frames)
    g = torch.Generator().manual_seed(1)
    img = torch.rand(1, 1, 3, res, res, generator=g) if image is None else image
    lat = torch.randn(1, frames, 4, res // down, res // down, generator=g)
    return dict(context_images=img, target_c2w=c2w, target_K=K, context_index=[0], mode="3d",
                num_inference_steps=25, guidance_scale=3.0, latents=lat, output_type="pt")


# bench mode -> enable_fast_path keyword arguments (None: the float32 eager path, untouched; "skip": float32
# eager with only the UNet's skip_zero_weight_paths switched on)
MODES: dict[str, dict | str | None] = {
    "fp32_eager": None,
    "fp32_skip": "skip",  # float32 eager, only the zero-weight temporal path skipped in 3D (what the skip alone gives)
    "bf16_eager": dict(compile=False, cuda_graph=False, skip_zero_weight_paths=False, channels_last=False, fuse_qkv=False),
    "fast_noskip": dict(skip_zero_weight_paths=False),
    "fast_unfused": dict(fused_kernels=False),  # the default path before the Triton GroupNorm/GEGLU kernels
    "fast": {},
    "fast_compile": dict(compile=True),  # blocks compiled (inductor default) under the CUDA-graph replay
    "fast_compile_nofuse": dict(compile=True, fuse_qkv=False),  # q, k, v projections as three GEMMs
    "fast_compile_unet": dict(compile=True, compile_scope="unet", compile_mode="reduce-overhead"),
}


def apply_mode(pipe, name: str):
    """Switch ``pipe`` to bench mode ``name`` (see MODES); returns it."""
    from genxd.pipelines.fast import enable_fast_path

    switches = MODES[name]
    if switches == "skip":
        pipe.unet.skip_zero_weight_paths = True
    elif switches is not None:
        enable_fast_path(pipe, **switches)
    return pipe


def measure(pipe, res, frames, reps, warmup, whole_reps, mode: str = "3d", base_bytes: int = 0):
    import torch

    from genxd.pipelines.tf32 import tf32_enabled

    dev = pipe.device
    inp = unet_inputs(pipe, res, frames, dev, mode)
    # the UNet called directly runs under the TF32 setting the pipeline's own calls use (pipe.tf32: bf16 / fp16 fast
    # paths), so the per-call figures time what sampling runs, and a compiled UNet is not compiled twice
    with torch.no_grad(), tf32_enabled(getattr(pipe, "tf32", False)):
        t0 = time.perf_counter()
        pipe.unet(**inp)  # first call: compilation / graph capture
        sync()
        first_s = time.perf_counter() - t0
        call_ms, call_mem = timed(lambda: pipe.unet(**inp), reps, warmup, base_bytes)
        r = {"first_call_s": first_s, "unet_call_ms_median": statistics.median(call_ms), "unet_call_ms": call_ms,
             "unet_call_peak_gib": call_mem}
        if whole_reps > 0:
            s_in = sample_inputs(res, frames)
            s_in["mode"] = mode
            if mode == "4d":
                s_in["motion_strength"] = 10.0
            pipe.set_progress_bar_config(disable=True)
            sample_ms, sample_mem = timed(lambda: pipe(**s_in), whole_reps, 1, base_bytes)
            r.update(sample_s_median=statistics.median(sample_ms) / 1000, sample_peak_gib=sample_mem)
    return r


def quality(model: str, res: int | None, frames: int | None, steps: int, device: str = "cuda",
            modes: tuple[str, ...] = ("fast",)) -> dict:
    """Each fast mode vs float32 eager from the same noise, on a trained model (3D, the example image)."""
    import torch

    from genxd.api import RELEASED_DEFAULTS, GENERATION_CONFIG
    from genxd.pipelines import GenXDPipeline
    from genxd.pipelines.fast import CUDAGraphForward
    from genxd.utils.images import load_image

    d = dict(RELEASED_DEFAULTS)
    cfg = Path(model) / GENERATION_CONFIG
    if cfg.is_file():
        d.update(json.loads(cfg.read_text()))
    res = res or d["resolution"]
    frames = frames or d["num_frames"]
    example = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    image = load_image(example, res, res)[None, None] if example.is_file() else None  # a real held-out scene image
    out = {}
    for name in ("fp32_eager", *modes):
        pipe = GenXDPipeline.from_pretrained(model).to(device)
        s_in = sample_inputs(res, frames, down=pipe.vae_scale_factor, image=image)
        s_in["num_inference_steps"] = steps
        s_in["guidance_scale"] = d.get("guidance_scale", 3.0)
        pipe.set_progress_bar_config(disable=True)
        apply_mode(pipe, name)
        with torch.no_grad():
            pipe(**s_in)  # warm-up (compilation)
            r = pipe(**s_in)
        out[name] = (r.latents.float().cpu(), r.frames.float().cpu())
        CUDAGraphForward.remove(pipe.unet)
        del pipe
        release()
    result = {"model": str(model), "input": str(example.name) if image is not None else "random pixels",
              "resolution": res, "frames": frames, "steps": steps, "modes": {}}
    for name in modes:
        dl = (out[name][0] - out["fp32_eager"][0]).abs()
        mse = (out[name][1] - out["fp32_eager"][1]).square().mean().item()
        result["modes"][name] = {
            "latent_max_abs_diff": dl.max().item(), "latent_mean_abs_diff": dl.mean().item(),
            "frames_psnr_db": float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="GenXD checkpoint folder (default: released config, random weights)")
    ap.add_argument("--quality-model", default=None, help="trained model for output agreement (default: bundled; 'none': skip)")
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--whole-reps", type=int, default=2)
    ap.add_argument("--modes", nargs="*", default=["fp32_eager", "fast"], choices=sorted(MODES),
                    help="fp32_eager (the authors' numerics and work); fp32_skip (float32, zero-weight temporal path "
                         "skipped in 3D); bf16_eager (no graphs, no skip); fast_noskip (bf16 + CUDA graphs); fast (the "
                         "default fast path: bf16 + CUDA graphs + skip); fast_compile (fast + blocks compiled); "
                         "fast_compile_unet (fast + whole UNet compiled, reduce-overhead)")
    ap.add_argument("--indicators", nargs="+", default=["3d"], choices=sorted(INDICATORS),
                    help="generation modes to time (3d: indicator 0, where the skip applies; 4d: indicator 2)")
    ap.add_argument("--quality-modes", nargs="+", default=["fast"], choices=sorted(MODES),
                    help="fast modes compared with fp32_eager on the trained model")
    ap.add_argument("--skip-fp32-sample", action="store_true", help="time only the UNet call for fp32")
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="torch.backends.cudnn.benchmark on for every path but the float32 ones (cuDNN times its "
                         "convolution algorithms on the first call of each shape instead of taking its heuristic's "
                         "pick; the float32 paths stand for the authors' code, which leaves it off)")
    ap.add_argument("--out", default=None, help=out_help("bench_sampling") + "; rewritten after every run")
    args = ap.parse_args()
    import torch

    from genxd.api import default_model_path
    from genxd.pipelines.fast import CUDAGraphForward

    if not torch.cuda.is_available():
        raise SystemExit("bench_sampling needs a CUDA GPU")
    out = resolve_out(args.out, "bench_sampling")
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "frames": args.frames,
              "checkpoint": args.checkpoint or "released config, random weights",
              "cudnn_benchmark": args.cudnn_benchmark, "runs": {}}
    for mode in args.modes:
        release()
        torch.backends.cudnn.benchmark = args.cudnn_benchmark and not mode.startswith("fp32")
        base_bytes = torch.cuda.memory_allocated()
        result.setdefault("memory_before_path_gib", {})[mode] = base_bytes / 2**30
        pipe = apply_mode(build_pipe(args.checkpoint, torch.float32).to("cuda"), mode)
        for ind in args.indicators:
            for res in args.resolutions:
                t0 = time.perf_counter()
                whole = 0 if (mode.startswith("fp32") and args.skip_fp32_sample) else args.whole_reps
                r = measure(pipe, res, args.frames, args.reps, args.warmup, whole, ind, base_bytes)
                r["wall_s_incl_warmup"] = time.perf_counter() - t0
                key = f"{mode}@{res}" if ind == "3d" else f"{mode}@{res}@{ind}"
                result["runs"][key] = r
                print(key, json.dumps({k: v for k, v in r.items() if k != "unet_call_ms"}), flush=True)
                save_json(out, result, indent=2, quiet=True)  # partial results survive a time-out
        CUDAGraphForward.remove(pipe.unet)
        del pipe
        release()
    for ind in args.indicators if "fp32_eager" in args.modes else []:  # every path against the float32 one
        for res in args.resolutions:
            tag = f"@{res}" if ind == "3d" else f"@{res}@{ind}"
            a = result["runs"][f"fp32_eager{tag}"]
            for mode in [m for m in args.modes if m != "fp32_eager"]:
                b = result["runs"][f"{mode}{tag}"]
                suffix = "" if mode == "fast" else f"_{mode}"
                result[f"speedup_unet_call{suffix}{tag}"] = a["unet_call_ms_median"] / b["unet_call_ms_median"]
                if "sample_s_median" in a and "sample_s_median" in b:
                    result[f"speedup_sample{suffix}{tag}"] = a["sample_s_median"] / b["sample_s_median"]
                result[f"memory_ratio_unet_call{suffix}{tag}"] = b["unet_call_peak_gib"] / a["unet_call_peak_gib"]
    save_json(out, result, indent=2, quiet=True)  # timings kept even if the quality run fails
    qm = args.quality_model or (str(default_model_path()) if default_model_path() else None)
    if qm and qm.lower() == "none":
        result["quality"] = "skipped (--quality-model none)"
    elif qm:
        result["quality"] = quality(qm, None, None, 25, modes=tuple(args.quality_modes))
    else:
        result["quality"] = "skipped: no trained model (bundled model missing and --quality-model not given)"
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    save_json(out, result, indent=2)


if __name__ == "__main__":
    main()
