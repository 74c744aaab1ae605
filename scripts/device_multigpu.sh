#!/usr/bin/env bash
# Issue 20 on a machine with 2 GPUs (the device tool's nvidia-h200-x2): training 1 vs 2 GPUs (DDP, FSDP2) with
# the loss-equivalence check, generation throughput 1 vs 2 processes, and the two-GPU training tests.
# Usage (repository root, wheels of the missing packages in .whl/): bash scripts/device_multigpu.sh OUT_DIR [PART]
# PART: nccl | train | train-batch | generate | tests | cuda-tests | cuda-cpu | all (default all). NCCL's NVLink-multicast settings of the
# machine are left as they are (nothing here sets NCCL_* variables).
set -uo pipefail
out=${1:?output folder}; part=${2:-all}
mkdir -p "$out"
if [ -d .whl ] && [ ! -d /tmp/site ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
nvidia-smi topo -m 2>/dev/null | head -5
env | grep -E '^(NCCL|TORCH_SYMM|NVSHMEM)' | sort
if [ "$part" = nccl ] || [ "$part" = all ]; then
  NCCL_DEBUG=INFO timeout 90 python3 -m torch.distributed.run --nproc_per_node 2 scripts/nccl_check.py 2>&1 \
    | grep -E "peer access|all_reduce|via|Channel 00" | sort -u | head -12
fi
if [ "$part" = train ] || [ "$part" = all ]; then
  timeout 560 python3 benchmarks/bench_training_scaling.py --gpus 1 2 --single-reference-only --equivalence \
    --settings ${TRAIN_SETTINGS:-single ddp ddp_bucket100 fsdp fsdp_zero2} --steps 8 --warmup 2 --timeout 150 \
    --out "$out/bench_training_scaling_h200x2.json" 2>&1 | grep -v '^\s' | grep -v '^\[' | tail -12
fi
if [ "$part" = train-batch ]; then  # the same at 2 and 4 samples per GPU (efficiency against one GPU at that batch)
  timeout ${TIMEOUT:-560} python3 benchmarks/bench_training_scaling.py --gpus 1 2 --batch-per-gpu ${BATCHES:-2 4} --single-reference-only \
    --equivalence --settings ${TRAIN_SETTINGS:-single ddp fsdp fsdp_zero2} --steps ${STEPS:-10} --warmup 2 --timeout 150 \
    --out "$out/bench_training_scaling_h200x2_batch.json" 2>&1 | grep -v '^\s' | grep -v '^\[' | tail -12
fi
if [ "$part" = generate ] || [ "$part" = all ]; then
  timeout 250 python3 benchmarks/bench_generate_multigpu.py --gpus 1 2 --inputs 16 \
    --out "$out/bench_generate_multigpu_h200x2.json" 2>&1 | grep -E '^\[|^\{"processes|written in' | cut -c1-400
fi
if [ "$part" = tests ] || [ "$part" = all ]; then
  timeout 400 python3 -m pytest -m cuda tests/training/test_multi_gpu.py -q -rA -x 2>&1 | tee "$out/pytest_multi_gpu.log" | tail -15
fi
if [ "$part" = cuda-cpu ]; then  # the CUDA tests, and beside them the CPU suite on this machine's CPU (a second CPU kind)
  lscpu | grep -E "Model name|Flags" | cut -c1-200 > "$out/device_cpu.txt"
  ( CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=8 timeout 550 python3 -m pytest tests -q -m "not cuda" -rfE \
      --continue-on-collection-errors -p no:cacheprovider > "$out/pytest_cpu_on_device.log" 2>&1 ) &
  cpu_job=$!
  timeout 550 python3 -m pytest -m cuda tests -q -rA --continue-on-collection-errors -p no:cacheprovider 2>&1 \
    | tee "$out/pytest_cuda_all.log" | tail -30
  wait $cpu_job
  tail -25 "$out/pytest_cpu_on_device.log"
fi
if [ "$part" = cuda-tests ]; then
  timeout 560 python3 -m pytest -m cuda tests -q -rA --continue-on-collection-errors -p no:cacheprovider 2>&1 \
    | tee "$out/pytest_cuda_all.log" | tail -40
fi
