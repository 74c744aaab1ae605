"""``benchmarks/bench_training.py --smoke`` runs (the CUDA benchmark itself runs on a GPU machine)."""

from __future__ import annotations

import json

import pytest
import torch

from ..helpers import ROOT, free_port, load_script

BENCH = ROOT / "benchmarks" / "bench_training.py"


def _load():
    return load_script("benchmarks/bench_training.py")


def test_bench_training_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = _load().main(["--smoke", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["samples_per_s"] == result["samples_per_s"] > 0
    assert saved["mode"].startswith("smoke") and all(l > 0 for l in saved["losses"])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bench_training_released_size_cuda(tmp_path):
    result = _load().main(["--steps", "2", "--warmup", "1", "--out", str(tmp_path / "bench.json")])
    assert result["unet_parameters"] == 1932125520 and result["peak_memory_gib"] > 0


def test_bench_training_through_accelerate_on_two_processes(tmp_path):
    """``--accelerate`` under ``accelerate launch`` (2 CPU processes, gloo): global throughput and
    per-process figures come back in the main process's JSON."""
    import os
    import subprocess
    import sys

    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
           "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()), str(BENCH),
           "--smoke", "--accelerate", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    saved = json.loads(out.read_text())
    assert saved["num_processes"] == 2 and saved["global_batch"] == 2 and saved["distributed"] == "MULTI_CPU"
    assert len(saved["seconds_per_step_median_per_process"]) == 2
    assert saved["samples_per_s"] == pytest.approx(2 / max(saved["seconds_per_step_median_per_process"]))
