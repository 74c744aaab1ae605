#!/usr/bin/env bash
# Train the bundled small GenXD in one 10-minute H100 slot: the VAE, then the UNet on its latents.
# Exact commands used for src/genxd/assets/genxd-small (see docs/benchmarks.md for the figures).
# Continue a run in further slots with the same commands plus --resume latest.
set -euo pipefail
OUT=${OUT:-outputs/export}
mkdir -p "$OUT"
genxd train-vae h100_small_vae --overwrite 2>&1 | tee "$OUT/train_vae.log" | grep -v Warning | tail -n 5
genxd train h100_small_genxd --overwrite 2>&1 | tee "$OUT/train_genxd.log" | grep -v Warning | tail -n 8
# package the newest checkpoint (a full pipeline folder) in parts of 15 MB
tar -C outputs/small_genxd/checkpoints -chf outputs/genxd-small.tar latest
split -b 15M -d outputs/genxd-small.tar "$OUT/genxd-small.tar.part"
ls -la "$OUT"
