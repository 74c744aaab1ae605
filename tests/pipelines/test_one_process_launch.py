"""``accelerate launch --cpu --num_processes 2`` (accelerate 1.x without ``--multi_gpu``) starts ONE process: genxd
says so in one warning instead of running the job in one process silently."""

from __future__ import annotations

import os
import sys

import numpy as np
import PIL.Image
import pytest

from genxd.pipelines.distributed import one_process_launch_warning

from ..helpers import free_port, run_launch


def test_the_warning_needs_an_address_without_a_number_of_processes(monkeypatch):
    for var in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                "ACCELERATE_USE_CPU"):
        monkeypatch.delenv(var, raising=False)
    assert one_process_launch_warning() is None  # not launched
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    assert one_process_launch_warning() is None  # accelerate launch --num_processes 1: no address
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert "--multi_gpu" in one_process_launch_warning()
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun (--multi_gpu) started several: nothing to say
    assert one_process_launch_warning() is None


@pytest.mark.slow
def test_accelerate_launch_cpu_without_multi_gpu_warns_that_it_runs_one_process(tmp_path):
    """accelerate printed nothing and genxd ran the whole job in one process (meta.json said num_processes 1): the
    user who asked for 2 had no line saying so (found by the multi-process audit)."""
    image = tmp_path / "a.png"
    PIL.Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(image)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           "-m", "genxd", "generate", str(image), "--out", str(tmp_path / "out"), "--frames", "2", "--steps", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    for var in ("WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    proc = run_launch(cmd, env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("genxd: warning: accelerate launch")]
    assert len(warnings) == 1 and "one process" in warnings[0] and "--multi_gpu" in warnings[0], proc.stderr[-3000:]
