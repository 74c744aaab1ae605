"""Errors of one process of a two-process training run (``accelerate launch``, gloo on the CPU): the process that
failed prints its own error line, naming itself and the steps that are not saved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import free_port
from .conftest import QUIET, TINY

#: ``genxd train`` whose data fails on process 1 only, at its 4th batch (a broken image in its share of the data)
FLAKY_ON_PROCESS_1 = f'''
import os, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from broken_data import ThreeBatchesThenBroken
import genxd.training.trainer as trainer
real = trainer.make_loader

def flaky_loader(*args, **kwargs):
    loader = real(*args, **kwargs)
    return ThreeBatchesThenBroken(loader) if os.environ.get("RANK") == "1" else loader

trainer.make_loader = flaky_loader
from genxd.cli import main
sys.argv = ["genxd", *sys.argv[1:]]
main()
'''


@pytest.mark.slow
def test_a_data_error_on_another_process_than_the_first_is_printed(tmp_path):
    """Only the first process printed error lines (every process makes the same checks before the work is shared),
    so a broken image read by process 1 stopped the run without any line naming it: the user saw only the lost
    connection of process 0 and the launcher's report (found by the multi-process audit)."""
    script = tmp_path / "flaky_train.py"
    script.write_text(FLAKY_ON_PROCESS_1)
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        str(script), "train", str(TINY), f"output_dir={out}", *QUIET, "data.datasets.0.length=8",
        "training.max_steps=20", "training.batch_size=1", "training.ema.enabled=false", "--cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode != 0, log
    errors = [line for line in proc.stderr.splitlines() if line.startswith("genxd: error:")]
    assert errors == ["genxd: error: process 1: scene_2/images/frame_00005.png: cannot read image (broken data "
                      "stream)"], log
    assert ("genxd train: process 1: an item of the data could not be read: with 2 processes the steps 1-3 are not "
            "saved") in proc.stderr, log
