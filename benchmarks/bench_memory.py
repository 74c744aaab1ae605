"""Peak GPU memory and time of a whole sample, per memory switch set and resolution.

A whole 12-frame 3D sample (25 steps, guidance 3, VAE decoding) with the released UNet configuration in
bfloat16 (random weights, built on the GPU as in ``bench_sampling.py``) and a Stable-Video-Diffusion-size VAE.
Each row builds a fresh pipeline, applies one switch set (:func:`genxd.pipelines.fast.enable_fast_path` +
:func:`genxd.pipelines.memory.configure_memory`), runs a 2-step warm-up sample (CUDA-graph capture), then one
timed sample, and records ``torch.cuda.max_memory_allocated`` (absolute: weights included) over the whole
sample, over its denoising and over its decoding, the peak reserved by the allocator, and the time.

    python benchmarks/bench_memory.py --out benchmarks/results/bench_memory_h200.json   # ~3 min on an H200
    python benchmarks/bench_memory.py --smoke --out /tmp/bench_memory_smoke.json       # CPU, tiny model, seconds

``--smoke`` runs every switch set on the CPU with a tiny UNet and VAE (64x64, 4 frames, 2 steps): it checks
that the script and the switches run; its memory columns are empty (no CUDA).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_output import out_help, resolve_out, save_json  # noqa: E402
from bench_sampling import LAYOUT, SVD_VAE, sample_inputs  # noqa: E402

#: switch set -> (enable_fast_path keyword arguments, configure_memory keyword arguments)
SWITCH_SETS: dict[str, tuple[dict, dict]] = {
    # the authors' decoding: all frames at once, float32 decoder
    "whole_clip_fp32_decoder": (dict(vae_decoder_dtype=torch.float32), dict(decode_chunk=None)),
    # genxd's defaults: decoding windows by image size (2 frames at 512, 8 at 256, half overlapping), bf16 decoder
    "default": ({}, {}),
    "default_fp32_decoder": (dict(vae_decoder_dtype=torch.float32), {}),
    "sequential_guidance": ({}, dict(sequential_guidance=True)),
    "model_offload": (dict(offload="model"), {}),
    "model_offload_fp32_decoder_chunk4": (dict(offload="model", vae_decoder_dtype=torch.float32), dict(decode_chunk=4)),
    "model_offload_sequential": (dict(offload="model"), dict(sequential_guidance=True)),
    "group_offload": (dict(offload="group"), {}),
    "group_offload_sequential": (dict(offload="group"), dict(sequential_guidance=True)),
}
TINY_UNET = dict(
    block_out_channels=[32, 32], num_attention_heads=[1, 1], layers_per_block=1, sample_size=8,
    down_block_types=["CrossAttnDownBlockMVCascadeTemporal", "DownBlockMVCascadeTemporal"],
    up_block_types=["UpBlockMVCascadeTemporal", "CrossAttnUpBlockMVCascadeTemporal"],
)
TINY_VAE = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2, block_out_channels=[32, 32],
                layers_per_block=1, latent_channels=4, sample_size=32, scaling_factor=0.18215, force_upcast=True)
GIB = 2**30


def build_pipe(device: torch.device, tiny: bool):
    """Released-configuration UNet (float32, random) and SVD-size VAE on ``device``; ``tiny``: small ones."""
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    from genxd.models import UNetMVTemporalConditionModel
    from genxd.pipelines import GenXDPipeline

    cfg = json.loads(LAYOUT.read_text())["config"]
    if tiny:
        cfg = {**cfg, **TINY_UNET}
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNetMVTemporalConditionModel.from_config(cfg).eval().requires_grad_(False)
        vae = AutoencoderKLTemporalDecoder(**(TINY_VAE if tiny else SVD_VAE)).eval().requires_grad_(False)
    sched = EulerDiscreteScheduler.from_pretrained(HERE.parent / "tests/fixtures/reference_small", subfolder="scheduler")
    pipe = GenXDPipeline(unet=unet, vae=vae, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def apply_switches(pipe, name: str, device: torch.device):
    from genxd.pipelines.fast import enable_fast_path
    from genxd.pipelines.memory import configure_memory

    fast, memory = SWITCH_SETS[name]
    if device.type == "cuda":
        enable_fast_path(pipe, dtype=torch.bfloat16, device=device, **fast)
        configure_memory(pipe, **memory)
    else:  # the CPU smoke run: the fast path needs CUDA; run the same switches in float32
        if "vae_decoder_dtype" in fast:
            pipe.vae.decoder.to(fast["vae_decoder_dtype"])
        configure_memory(pipe, offload=fast.get("offload", "none"), device=device, **memory)
    return pipe


def run_row(name: str, res: int, frames: int, steps: int, device: torch.device, tiny: bool) -> dict:
    cuda = device.type == "cuda"
    pipe = apply_switches(build_pipe(device, tiny), name, device)
    down = pipe.vae_scale_factor
    inputs = sample_inputs(res, frames, down=down)
    inputs["guidance_scale"] = 3.0
    marks: dict = {}

    def at_step(p, i, t, tensors):
        if i == steps - 1 and cuda:  # end of denoising: its peak; then measure decoding alone
            torch.cuda.synchronize()
            marks["denoise_peak"] = torch.cuda.max_memory_allocated() / GIB
            torch.cuda.reset_peak_memory_stats()
        return tensors

    with torch.no_grad():
        pipe(**{**inputs, "num_inference_steps": 2})  # warm-up: graph capture, cuDNN plans
        gc.collect()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated() / GIB
        t0 = time.perf_counter()
        out = pipe(**{**inputs, "num_inference_steps": steps}, callback_on_step_end=at_step)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    row = {"switches": name, "resolution": res, "frames": frames, "steps": steps, "sample_s": seconds,
           "output_finite": bool(torch.isfinite(out.frames).all())}
    if cuda:
        decode_peak = torch.cuda.max_memory_allocated() / GIB
        row.update(allocated_before_gib=before, denoise_peak_gib=marks.get("denoise_peak"), decode_peak_gib=decode_peak,
                   peak_gib=max(marks.get("denoise_peak", 0.0), decode_peak),
                   peak_reserved_gib=torch.cuda.max_memory_reserved() / GIB)
    offload = getattr(pipe, "offload", None)
    row["offload_moves"] = list(offload.log) if offload is not None else []
    del pipe, out
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return row


def print_table(rows: list[dict]) -> None:
    print(f"{'switches':<36}{'res':>5}{'peak GiB':>10}{'denoise':>9}{'decode':>8}{'reserved':>10}{'sample s':>10}")
    for r in rows:
        if "error" in r:
            print(f"{r['switches']:<36}{r['resolution']:>5}  error: {r['error']}")
            continue
        f = lambda k: f"{r[k]:.2f}" if r.get(k) is not None else "-"  # noqa: E731
        print(f"{r['switches']:<36}{r['resolution']:>5}{f('peak_gib'):>10}{f('denoise_peak_gib'):>9}"
              f"{f('decode_peak_gib'):>8}{f('peak_reserved_gib'):>10}{r['sample_s']:>10.2f}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny model, 64x64, 4 frames, 2 steps")
    ap.add_argument("--resolutions", type=int, nargs="+", default=None, help="default 256 512 (smoke: 64)")
    ap.add_argument("--frames", type=int, default=None, help="default 12 (smoke: 4)")
    ap.add_argument("--steps", type=int, default=None, help="default 25 (smoke: 2)")
    ap.add_argument("--switches", nargs="+", default=list(SWITCH_SETS), choices=list(SWITCH_SETS))
    ap.add_argument("--out", default=None, help=out_help("bench_memory") + "; rewritten after every row")
    args = ap.parse_args(argv)
    if args.smoke:
        device, res, frames, steps = torch.device("cpu"), args.resolutions or [64], args.frames or 4, args.steps or 2
    else:
        if not torch.cuda.is_available():
            raise SystemExit("bench_memory needs a CUDA GPU (or --smoke for the CPU check)")
        device, res, frames, steps = torch.device("cuda"), args.resolutions or [256, 512], args.frames or 12, args.steps or 25
    result = {"benchmark": "peak memory and time of a whole sample per memory switch set",
              "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
              "torch": torch.__version__, "model": "tiny (smoke)" if args.smoke else "released UNet config (bf16, random) + SVD-size VAE",
              "rows": []}
    out = resolve_out(args.out, "bench_memory")
    for r in res:
        for name in args.switches:
            try:
                row = run_row(name, r, frames, steps, device, args.smoke)
            except Exception as exc:  # noqa: BLE001 - an out-of-memory row is a result; the others go on
                row = {"switches": name, "resolution": r, "error": f"{type(exc).__name__}: {exc}"[:300]}
                gc.collect()
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
            save_json(out, result, indent=2, quiet=True)  # partial results survive a crash or time-out
    print_table(result["rows"])
    save_json(out, result, indent=2)
    return result


if __name__ == "__main__":
    main()
