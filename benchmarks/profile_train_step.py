"""Profile one training step of a GenXD preset on CUDA (where the time goes, by kernel).

    python benchmarks/profile_train_step.py h100_small_genxd --batch 64
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", help="a YAML config file or a preset name (h100_small_genxd)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--rows", type=int, default=25)
    args = ap.parse_args()
    from torch.profiler import ProfilerActivity, profile

    from genxd.training import load_config
    from genxd.training.models import build_unet
    from genxd.training.objective import draw_sample, genxd_loss, sample_seed

    cfg = load_config(args.config, [], kind="genxd")
    dev = torch.device("cuda")
    unet, _ = build_unet(cfg.model)
    unet.to(dev).train()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-4, fused=True)
    b, f = args.batch, cfg.data.num_frames
    h = cfg.data.height // 4
    lat = torch.randn(b, f, 4, h, h, device=dev)
    c2w = torch.eye(4).repeat(b, f, 1, 1)
    c2w[..., 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(b, f, 1, 1)
    motion = torch.ones(b)
    draws = [draw_sample(sample_seed(0, j), f, (4, h, h), 2 if j % 2 else 0, cfg.conditioning, cfg.noise) for j in range(b)]
    n_ids = unet.config.projection_class_embeddings_input_dim // unet.config.addition_time_embed_dim

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss, _ = genxd_loss(unet, lat, c2w, K, motion, draws, num_added_time_ids=n_ids)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    print(f"step: {(time.perf_counter() - t) / args.steps * 1000:.1f} ms at batch {b}", flush=True)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=args.rows, max_name_column_width=60), flush=True)


if __name__ == "__main__":
    main()
