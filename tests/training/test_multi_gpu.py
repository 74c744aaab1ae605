"""Two GPUs (``accelerate launch --num_processes 2``, DDP over NCCL and FSDP2) train like one GPU with the
whole global batch, write each checkpoint once, and a checkpoint written on two GPUs resumes on one GPU and on
two with the same next-step loss. Needs a machine with at least two CUDA GPUs (skipped elsewhere; the CPU
versions of the same checks run over gloo in ``test_distributed.py``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from ..helpers import free_port
from .conftest import QUIET, TINY

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs"),
]

STEPS = 2
# float32 (no autocast): what separates the runs is the reduction order and cuDNN's TF32 convolutions;
# measured on two H200s: see docs/benchmarks/training.md, "One GPU vs several"
COMMON = [*QUIET, "data.datasets.0.length=8", "training.ema.enabled=false", "training.mixed_precision=no"]
RTOL = 2e-3  # same bound as the one-GPU FSDP-vs-plain test (test_fsdp.py)
FSDP = ["--use_fsdp", "--fsdp_version", "2", "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP"]


def _launch(out, steps: int, *extra: str, gpus: int = 2, batch: int = 1, wrapper: tuple[str, ...] = ("--multi_gpu",),
            resume: bool = False) -> str:
    """``accelerate launch`` of ``genxd.training train`` on ``gpus`` GPUs (``wrapper``: DDP or FSDP2 flags)."""
    if wrapper == ("--multi_gpu",) and gpus == 1:
        wrapper = ()  # one process: plain training, no DDP wrapper
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", *wrapper,
        "--num_processes", str(gpus), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()),
        "-m", "genxd.training", "train", str(TINY), f"output_dir={out}", *COMMON, f"training.max_steps={steps}",
        f"training.batch_size={batch}", *extra, *(["--resume", "latest"] if resume else []),
    ]
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONWARNINGS": "ignore"}, capture_output=True, text=True,
                          timeout=600)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, "\n".join(line[:400] for line in text.splitlines() if "Error" in line)[-3000:] or text[-3000:]
    return text


def _losses(run) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def _state(run, step: int) -> dict:
    return json.loads((run / "checkpoints" / f"checkpoint-{step:07d}" / "training_state.json").read_text())


@pytest.mark.parametrize("wrapper", ["ddp", "fsdp"])
def test_two_gpus_train_like_one_and_resume_on_one_or_two(tmp_path, wrapper):
    flags = ("--multi_gpu",) if wrapper == "ddp" else tuple(FSDP)
    two = tmp_path / "two"
    _launch(two, STEPS, wrapper=flags)
    state = _state(two, STEPS)
    assert state["num_processes"] == 2 and state["global_batch"] == 2
    # each checkpoint written once, by one process: one folder per step, no leftovers of a second writer
    names = sorted(p.name for p in (two / "checkpoints").iterdir())
    assert names == [f"checkpoint-{STEPS:07d}"], names

    one = tmp_path / "one"
    train_genxd(load_config(TINY, [f"output_dir={one}", *COMMON, f"training.max_steps={STEPS}",
                                   "training.batch_size=2"]))
    assert _losses(two) == pytest.approx(_losses(one), rel=RTOL)

    # the two-GPU checkpoint resumes on one GPU (batch 2) and on two (batch 1 each) for one more step: the
    # next-step loss is the same, and the same as the one-GPU run resumed at the same step
    on_one, on_two = tmp_path / "on_one", tmp_path / "on_two"
    shutil.copytree(two, on_one)
    shutil.copytree(two, on_two)
    _launch(on_one, STEPS + 1, gpus=1, batch=2, wrapper=flags, resume=True)
    _launch(on_two, STEPS + 1, wrapper=flags, resume=True)
    train_genxd(load_config(TINY, [f"output_dir={one}", *COMMON, f"training.max_steps={STEPS + 1}",
                                   "training.batch_size=2"]), resume="latest")
    nxt = {name: _losses(run)[-1] for name, run in (("on_one", on_one), ("on_two", on_two), ("one", one))}
    assert all(len(_losses(run)) == STEPS + 1 for run in (on_one, on_two, one))
    assert nxt["on_one"] == pytest.approx(nxt["one"], rel=RTOL), nxt
    assert nxt["on_two"] == pytest.approx(nxt["one"], rel=RTOL), nxt
    assert _state(on_one, STEPS + 1)["num_processes"] == 1
    assert _state(on_two, STEPS + 1)["num_processes"] == 2
