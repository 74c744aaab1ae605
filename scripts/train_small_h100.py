"""The same as scripts/train_small_h100.sh, through the Python API (no CLI dependencies needed)."""

import os
import sys
import tarfile
from pathlib import Path

from genxd.training import load_config, train_genxd, train_vae

out = Path(os.environ.get("OUT", "outputs/export"))
out.mkdir(parents=True, exist_ok=True)
stages = sys.argv[1:] or ["vae", "genxd"]
resume = "latest" if "--resume" in stages else None
if "vae" in stages:
    train_vae(load_config("configs/h100_small_vae.yaml", [], kind="vae"), resume=resume, overwrite=resume is None)
if "genxd" in stages or "continue" in stages:
    preset = "configs/h100_small_genxd_continue.yaml" if "continue" in stages else "configs/h100_small_genxd.yaml"
    ckpt = train_genxd(load_config(preset, [], kind="genxd"), resume=resume, overwrite=resume is None)
    tar_path = Path("outputs/genxd-small.tar")
    with tarfile.open(tar_path, "w") as tar:  # the pipeline folder only (not the optimizer state)
        for part in ("unet", "vae", "scheduler", "generation_config.json"):
            tar.add(Path(ckpt).resolve() / part, arcname=f"genxd-small/{part}")
    data = tar_path.read_bytes()
    part = 15 * 2**20
    for i in range(0, len(data), part):
        (out / f"genxd-small.tar.part{i // part:02d}").write_bytes(data[i : i + part])
    print("exported", ckpt, len(data), "bytes")
