"""NCCL between the GPUs of this machine: peer access, the transport NCCL picks, all-reduce bus bandwidth.

    python -m torch.distributed.run --nproc_per_node 2 scripts/nccl_check.py        (NCCL_DEBUG=INFO for transports)
"""

import os
import time

import torch
import torch.distributed as dist

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
torch.cuda.set_device(rank)
if rank == 0:
    print("peer access 0->1:", torch.cuda.can_device_access_peer(0, 1) if torch.cuda.device_count() > 1 else None)
for dtype, numel in ((torch.float32, 2**28), (torch.bfloat16, 2**28)):
    x = torch.ones(numel, dtype=dtype, device="cuda")
    for _ in range(3):
        dist.all_reduce(x)
    torch.cuda.synchronize()
    t = time.perf_counter()
    reps = 5
    for _ in range(reps):
        dist.all_reduce(x)
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / reps
    size = x.numel() * x.element_size()
    busbw = size / dt * 2 * (world - 1) / world / 1e9
    if rank == 0:
        print(f"all_reduce {dtype} {size / 2**30:.2f} GiB: {dt * 1e3:.1f} ms, bus bandwidth {busbw:.0f} GB/s", flush=True)
dist.destroy_process_group()
