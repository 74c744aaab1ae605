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
import time
from pathlib import Path

import torch

from genxd.api import default_model_path
from genxd.models import UNetMVTemporalConditionModel
from genxd.pipelines import GenXDPipeline
from genxd.pipelines.fast import enable_fast_path

LAYOUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "released_unet_layout.json"
SVD_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
    block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=768,
    scaling_factor=0.18215, force_upcast=True,
)


def sync():
    torch.cuda.synchronize()


def timed(fn, reps: int, warmup: int) -> tuple[list[float], float]:
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
    return times, torch.cuda.max_memory_allocated() / 2**30


def build_pipe(checkpoint: str | None, dtype: torch.dtype) -> GenXDPipeline:
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    if checkpoint:
        return GenXDPipeline.from_pretrained(checkpoint, torch_dtype=dtype)
    cfg = json.loads(LAYOUT.read_text())["config"]
    torch.manual_seed(0)
    with torch.device("cuda"):  # random init directly on the GPU (seconds instead of a minute on CPU)
        unet = UNetMVTemporalConditionModel.from_config(cfg).to(dtype)
        vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
    sched = EulerDiscreteScheduler.from_pretrained(Path(__file__).resolve().parents[1] / "tests/fixtures/reference_small", subfolder="scheduler")
    return GenXDPipeline(unet=unet, vae=vae, scheduler=sched)


def unet_inputs(pipe, res: int, frames: int, device):
    h = res // 8
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, frames, 15, h, h, generator=g).to(device, pipe.unet.dtype)
    ids = torch.zeros(2, frames, 2, device=device)
    ids[1, :, 1] = 1
    return dict(sample=x, timestep=torch.tensor(1.0, device=device), added_time_ids=ids,
                indicator=torch.tensor([0, 0], device=device), motion_ids=torch.zeros(2, device=device))


def sample_inputs(res: int, frames: int, down: int = 8, image: torch.Tensor | None = None):
    """Inputs of one 3D sample: ``image [1, 1, 3, res, res]`` (default: random pixels), an orbit, fixed noise
    ``[1, frames, 4, res/down, res/down]`` (``down``: the VAE's downsampling factor)."""
    from genxd.cameras import orbit

    c2w, K = orbit(num_frames=frames)
    g = torch.Generator().manual_seed(1)
    img = torch.rand(1, 1, 3, res, res, generator=g) if image is None else image
    lat = torch.randn(1, frames, 4, res // down, res // down, generator=g)
    return dict(context_images=img, target_c2w=c2w, target_K=K, context_index=[0], mode="3d",
                num_inference_steps=25, guidance_scale=3.0, latents=lat, output_type="pt")


# bench mode -> enable_fast_path keyword arguments (None: the float32 eager path, untouched)
MODES: dict[str, dict | None] = {
    "fp32_eager": None,
    "bf16_eager": dict(compile=False, cuda_graph=False),
    "fast": {},
    "fast_compile": dict(compile=True, compile_mode="default", cuda_graph=False),
    "fast_compile_graphs": dict(compile=True, compile_mode="reduce-overhead"),
}


def measure(pipe, res, frames, reps, warmup, whole_reps):
    dev = pipe.device
    inp = unet_inputs(pipe, res, frames, dev)
    with torch.no_grad():
        call_ms, call_mem = timed(lambda: pipe.unet(**inp), reps, warmup)
        s_in = sample_inputs(res, frames)
        pipe.set_progress_bar_config(disable=True)
        sample_ms, sample_mem = timed(lambda: pipe(**s_in), whole_reps, 1)
    return {
        "unet_call_ms_median": statistics.median(call_ms), "unet_call_ms": call_ms, "unet_call_peak_gib": call_mem,
        "sample_s_median": statistics.median(sample_ms) / 1000, "sample_peak_gib": sample_mem,
    }


def quality(model: str, res: int | None, frames: int | None, steps: int, device: str = "cuda") -> dict:
    """Fast path vs float32 eager from the same noise, on a trained model."""
    from genxd.api import RELEASED_DEFAULTS, GENERATION_CONFIG

    d = dict(RELEASED_DEFAULTS)
    cfg = Path(model) / GENERATION_CONFIG
    if cfg.is_file():
        d.update(json.loads(cfg.read_text()))
    res = res or d["resolution"]
    frames = frames or d["num_frames"]
    example = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    image = None
    if example.is_file():  # a real held-out scene image, not noise
        import numpy as np
        from PIL import Image

        pil = Image.open(example).convert("RGB").resize((res, res), Image.BICUBIC)
        image = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1).float().div(255)[None, None]
    out = {}
    for name in ("fp32", "fast"):
        pipe = GenXDPipeline.from_pretrained(model).to(device)
        s_in = sample_inputs(res, frames, down=pipe.vae_scale_factor, image=image)
        s_in["num_inference_steps"] = steps
        s_in["guidance_scale"] = d.get("guidance_scale", 3.0)
        pipe.set_progress_bar_config(disable=True)
        if name == "fast":
            enable_fast_path(pipe)
        with torch.no_grad():
            pipe(**s_in)  # warm-up (compilation)
            r = pipe(**s_in)
        out[name] = (r.latents.float().cpu(), r.frames.float().cpu())
        del pipe
        gc.collect(); torch.cuda.empty_cache()
    dl = (out["fast"][0] - out["fp32"][0]).abs()
    mse = (out["fast"][1] - out["fp32"][1]).square().mean().item()
    return {"model": str(model), "input": str(example.name) if image is not None else "random pixels", "resolution": res, "frames": frames, "steps": steps,
            "latent_max_abs_diff": dl.max().item(), "latent_mean_abs_diff": dl.mean().item(),
            "frames_psnr_db": float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()}


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
                    help="fp32_eager (the authors' numerics); bf16_eager; fast (the default fast path: bf16 + CUDA "
                         "graphs); fast_compile (bf16 + torch.compile default mode); fast_compile_graphs (bf16 + "
                         "torch.compile mode reduce-overhead)")
    ap.add_argument("--skip-fp32-sample", action="store_true", help="time only the UNet call for fp32")
    ap.add_argument("--out", default="bench_sampling.json")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_sampling needs a CUDA GPU")
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "frames": args.frames,
              "checkpoint": args.checkpoint or "released config, random weights", "runs": {}}
    for mode in args.modes:
        pipe = build_pipe(args.checkpoint, torch.float32).to("cuda")
        if MODES[mode] is not None:
            enable_fast_path(pipe, **MODES[mode])
        for res in args.resolutions:
            t0 = time.perf_counter()
            r = measure(pipe, res, args.frames, args.reps, args.warmup, 1 if (mode == "fp32_eager" and args.skip_fp32_sample) else args.whole_reps)
            r["wall_s_incl_warmup"] = time.perf_counter() - t0
            result["runs"][f"{mode}@{res}"] = r
            print(mode, res, json.dumps({k: v for k, v in r.items() if k != "unet_call_ms"}), flush=True)
        del pipe
        gc.collect(); torch.cuda.empty_cache()
    for res in args.resolutions if "fp32_eager" in args.modes else []:  # every path against the float32 one
        a = result["runs"][f"fp32_eager@{res}"]
        for mode in [m for m in args.modes if m != "fp32_eager"]:
            b = result["runs"][f"{mode}@{res}"]
            suffix = "" if mode == "fast" else f"_{mode}"
            result[f"speedup_unet_call{suffix}@{res}"] = a["unet_call_ms_median"] / b["unet_call_ms_median"]
            result[f"speedup_sample{suffix}@{res}"] = a["sample_s_median"] / b["sample_s_median"]
            result[f"memory_ratio_unet_call{suffix}@{res}"] = b["unet_call_peak_gib"] / a["unet_call_peak_gib"]
    Path(args.out).write_text(json.dumps(result, indent=2))  # timings kept even if the quality run fails
    qm = args.quality_model or (str(default_model_path()) if default_model_path() else None)
    if qm and qm.lower() == "none":
        result["quality"] = "skipped (--quality-model none)"
    elif qm:
        result["quality"] = quality(qm, None, None, 25)
    else:
        result["quality"] = "skipped: no trained model (bundled model missing and --quality-model not given)"
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
