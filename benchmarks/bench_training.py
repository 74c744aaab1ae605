"""Benchmark a GenXD training step: throughput (samples/s) and peak GPU memory.

The released model size (``tests/fixtures/released_unet_layout.json``, 1.93B parameters) with random
weights, a random Stable-Video-Diffusion-sized VAE (frozen; encoding is part of the step), 256x256,
12 frames, batch 1, gradient checkpointing, bf16 autocast with float32 master weights, AdamW: the
real training step of ``genxd train`` (:func:`genxd.training.objective.genxd_loss`, conditions built
as the pipeline does).

    python benchmarks/bench_training.py --out benchmarks/results/bench_training.json      # CUDA
    python benchmarks/bench_training.py --smoke --out /tmp/bench_training_smoke.json       # tiny, CPU

``--accelerate`` runs the same step through ``accelerate`` (``Accelerator.prepare``, ``accelerator.backward``,
its autocast and gradient clipping), so that the launch decides the data-parallel setting with no code
change; every process times its steps and reports its own peak memory (main process writes the JSON):

    accelerate launch --multi_gpu --num_processes N --mixed_precision bf16 \
        benchmarks/bench_training.py --accelerate --out ddp_N.json                       # DDP
    accelerate launch --use_fsdp --fsdp_version 2 --num_processes N --mixed_precision bf16 \
        --fsdp_auto_wrap_policy TRANSFORMER_BASED_WRAP \
        benchmarks/bench_training.py --accelerate --out fsdp_N.json                      # FSDP2
    (add --fsdp_offload_params true to keep the sharded weights and optimiser state on the CPU)

Prints a JSON summary and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

import genxd  # noqa: F401  before diffusers: quiets bitsandbytes' CPU-kernel line (genxd.utils.library_logs)

ROOT = Path(__file__).resolve().parents[1]
RELEASED_LAYOUT = ROOT / "tests" / "fixtures" / "released_unet_layout.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

TINY_UNET = {
    "block_out_channels": [32, 32],
    "down_block_types": ["CrossAttnDownBlockMVCascadeTemporal", "DownBlockMVCascadeTemporal"],
    "up_block_types": ["UpBlockMVCascadeTemporal", "CrossAttnUpBlockMVCascadeTemporal"],
    "layers_per_block": 1,
    "num_attention_heads": 1,
    "addition_time_embed_dim": 32,
    "projection_class_embeddings_input_dim": 64,
}
SVD_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 768,
    "scaling_factor": 0.18215,
    "force_upcast": True,
}
TINY_VAE = {
    "block_out_channels": [32, 32, 32, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "layers_per_block": 1,
    "latent_channels": 4,
}


def _offloads(plugin) -> bool:
    """Whether an accelerate FSDP plugin keeps the sharded weights on the CPU (FSDP1 or FSDP2)."""
    policy = plugin.cpu_offload
    if hasattr(policy, "offload_params"):  # FSDP1: CPUOffload(offload_params=...)
        return bool(policy.offload_params)
    return type(policy).__name__ == "CPUOffloadPolicy"  # FSDP2: OffloadPolicy() means none


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args: argparse.Namespace) -> dict:
    from genxd.cli.common import DEFERRED_IMPORTS, import_libraries

    # as genxd train imports (genxd.cli.train): scipy.stats and bitsandbytes (which diffusers imports) deferred to
    # their first use, the imports' objects frozen (1.3-1.5 s of CPU less in each launched process)
    import_libraries("genxd.training.objective", "genxd.training.loop", defer=DEFERRED_IMPORTS)
    from diffusers import AutoencoderKLTemporalDecoder

    from genxd.models import UNetMVTemporalConditionModel
    from genxd.training.config import ConditioningConfig, NoiseConfig
    from genxd.training.objective import draw_sample, encode_latents, genxd_loss, sample_seed

    acc = None
    if args.accelerate:
        from accelerate import Accelerator

        from genxd.training.loop import ddp_kwargs

        # the DDP settings of `genxd train` (training.ddp_comm_hook / ddp_bucket_mb), as the launch asks
        precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        acc = Accelerator(cpu=args.smoke, kwargs_handlers=[ddp_kwargs(precision, args.ddp_comm_hook, args.ddp_bucket_mb)])
        if not args.smoke and acc.mixed_precision == "no" and args.dtype != "fp32":
            raise SystemExit(f"bench_training --accelerate: launch with --mixed_precision {args.dtype} "
                             "(the precision comes from accelerate)")
    if args.smoke:
        device = torch.device("cpu")
        unet_cfg, vae_cfg = dict(TINY_UNET), dict(TINY_VAE)
        args.resolution, args.frames, args.steps, args.warmup = 32, 4, 2, 1
        dtype_name = "fp32"
    else:
        if not torch.cuda.is_available():
            raise SystemExit("bench_training: CUDA is not available (use --smoke for the CPU smoke run)")
        device = torch.device("cuda")
        unet_cfg = json.loads(Path(args.layout).read_text())["config"]
        # Stable Video Diffusion's VAE (latents 1/8). NOT diffusers' class defaults: those have one level
        # (latents at full resolution), which made an earlier run of this benchmark train the UNet on
        # 256x256 latents and run out of memory.
        vae_cfg = dict(SVD_VAE)
        dtype_name = args.dtype
    if acc is not None:
        device = acc.device
        dtype_name = {"no": "fp32"}.get(acc.mixed_precision, acc.mixed_precision)
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[dtype_name]
    fsdp = acc is not None and acc.distributed_type.name == "FSDP"
    torch.manual_seed(0)
    # random init directly on the GPU (seconds instead of about a minute on the CPU at the released size); every
    # process draws the same weights (same seed); FSDP then shards them where they are
    with torch.device(device):
        unet = UNetMVTemporalConditionModel(**unet_cfg)
    vae = AutoencoderKLTemporalDecoder(**vae_cfg).to(device).requires_grad_(False).eval()
    if autocast_dtype is not None:
        vae.to(autocast_dtype)
    if args.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    # fused: no model-size temporaries (on CUDA, when the weights stay there)
    fused = device.type == "cuda" and not (fsdp and _offloads(acc.state.fsdp_plugin))
    optimizer = torch.optim.AdamW(unet.parameters(), lr=2e-5, fused=fused)
    n_params = sum(p.numel() for p in unet.parameters())
    if acc is not None:
        unet, optimizer = acc.prepare(unet, optimizer)
    config = (acc.unwrap_model(unet) if acc is not None else unet).config
    n_ids = config.projection_class_embeddings_input_dim // config.addition_time_embed_dim
    cond_cfg, noise_cfg = ConditioningConfig(), NoiseConfig()

    b, f, s = args.batch, args.frames, args.resolution
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    latent_hw = s // vae_scale
    c2w = torch.eye(4).repeat(b, f, 1, 1)
    c2w[..., 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(b, f, 1, 1)
    motion = torch.ones(b)
    indicator = [2] * b

    rank, world = (acc.process_index, acc.num_processes) if acc is not None else (0, 1)

    def sample_frames(position: int) -> torch.Tensor:
        """The frames of the sample at this stream position (the same in any number of processes)."""
        gen = torch.Generator().manual_seed(1_000_003 * position + 17)
        return torch.rand(f, 3, s, s, generator=gen)

    def step(i: int) -> float:
        # stream positions: step i of process r takes samples (i * world + r) * b + j, so one process with
        # batch 2 sees at each step exactly the samples that two processes with batch 1 see together
        positions = [(i * world + rank) * b + j for j in range(b)]
        frames = torch.stack([sample_frames(p) for p in positions])
        latents = encode_latents(vae, frames.to(device)).float()
        draws = [draw_sample(sample_seed(0, p), f, tuple(latents.shape[2:]), indicator[j], cond_cfg, noise_cfg)
                 for j, p in enumerate(positions)]
        if acc is not None:
            with acc.autocast():
                loss, _ = genxd_loss(unet, latents, c2w, K, motion, draws, num_added_time_ids=n_ids)
            acc.backward(loss)
            acc.clip_grad_norm_(unet.parameters(), 1.0)
        else:
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                loss, _ = genxd_loss(unet, latents, c2w, K, motion, draws, num_added_time_ids=n_ids)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss = loss.detach()
        if acc is not None and world > 1:
            loss = acc.reduce(loss, reduction="mean")  # the global batch's loss, as one process would see it
        return float(loss)

    warmup_losses = [step(i) for i in range(args.warmup)]
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, losses = [], []
    for i in range(args.steps):
        start = time.perf_counter()
        losses.append(step(args.warmup + i))
        _sync(device)
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    world = 1
    per_process: dict = {}
    if acc is not None:
        world = acc.num_processes
        gathered = acc.gather(torch.tensor([[median, peak if peak is not None else -1.0]], device=device)).cpu()
        median = float(gathered[:, 0].max())  # a data-parallel step is as slow as its slowest process
        per_process = {"seconds_per_step_median_per_process": gathered[:, 0].tolist(),
                       "peak_memory_gib_per_process": gathered[:, 1].tolist() if peak is not None else None}
        peak = float(gathered[:, 1].max()) if peak is not None else None
    import diffusers

    result = {
        "benchmark": "genxd training step",
        "mode": "smoke (tiny model, CPU)" if args.smoke else "released model size",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "unet_parameters": n_params,
        "resolution": s,
        "latent_size": latent_hw,
        "num_frames": f,
        "batch_size": b,
        "num_processes": world,
        "global_batch": b * world,
        "distributed": (acc.distributed_type.name if acc is not None else "none"),
        "fsdp": ({"version": acc.state.fsdp_plugin.fsdp_version,
                  "offload_params": _offloads(acc.state.fsdp_plugin),
                  "reshard_after_forward": acc.state.fsdp_plugin.reshard_after_forward} if fsdp else None),
        "ddp": ({"comm_hook": args.ddp_comm_hook, "bucket_mb": args.ddp_bucket_mb}
                if acc is not None and acc.distributed_type.name.startswith("MULTI") else None),
        "gradient_checkpointing": bool(args.gradient_checkpointing),
        "precision": f"{dtype_name} autocast, float32 weights" if autocast_dtype is not None else "fp32",
        "optimizer": "AdamW (torch)",
        "steps_timed": args.steps,
        "seconds_per_step_median": median,
        "seconds_per_step_mean": sum(times) / len(times),
        "samples_per_s": b * world / median,
        "samples_per_s_per_process": b / median,
        "peak_memory_gib": peak,
        **per_process,
        "losses": losses,
        "warmup_losses": warmup_losses,
        "losses_note": "mean over the global batch (all processes) of each step's loss; warm-up steps first",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "python": sys.version.split()[0],
    }
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layout", default=str(RELEASED_LAYOUT), help="JSON with the UNet 'config' (released layout).")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10, help="Timed steps (median reported).")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false")
    parser.add_argument("--smoke", action="store_true", help="Tiny model on the CPU (proves the script runs).")
    parser.add_argument("--accelerate", action="store_true",
                        help="Run the step through accelerate (launch with `accelerate launch` for DDP / FSDP).")
    parser.add_argument("--ddp-comm-hook", default="auto", choices=["auto", "none", "bf16", "fp16"],
                        help="DDP gradient all-reduce precision (genxd train's training.ddp_comm_hook).")
    parser.add_argument("--ddp-bucket-mb", type=int, default=25, help="DDP bucket size (training.ddp_bucket_mb).")
    parser.add_argument("--out", default=None, help=out_help("bench_training"))
    args = parser.parse_args(argv)
    result = run(args)
    if args.accelerate:
        from accelerate import PartialState

        if not PartialState().is_main_process:
            return result
    print(json.dumps(result, indent=2))
    save_json(resolve_out(args.out, "bench_training"), result, indent=2)
    return result


if __name__ == "__main__":
    import gc

    try:
        main()
    finally:
        gc.freeze()  # exit without a cyclic collection over torch's and diffusers' objects (2 s on a 2-core CPU)
