"""FSDP (``accelerate launch --use_fsdp``) trains like plain training, checkpoints load into the pipeline,
and a sharded run resumes. FSDP in accelerate needs GPUs (it is never set up for CPU processes), so these
run on a CUDA machine: one process here; the same command with ``--num_processes N`` shards over N GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from ..helpers import free_port
from .conftest import QUIET, TINY

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

COMMON = [*QUIET, "data.datasets.0.length=8", "training.ema.enabled=false", "training.batch_size=2",
          "training.mixed_precision=no"]


def _launch_fsdp(out, steps: int, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--use_fsdp", "--fsdp_version", "2",
        "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP",
        "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()),
        "-m", "genxd.training", "train", str(TINY), f"output_dir={out}", *COMMON, f"training.max_steps={steps}", *extra,
    ]
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONWARNINGS": "ignore"}, capture_output=True, text=True,
                          timeout=600)
    if check:
        text = proc.stdout + proc.stderr
        assert proc.returncode == 0, "\n".join(line[:400] for line in text.splitlines() if "Error" in line)[-3000:]
    return proc


def _losses(run):
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_fsdp_trains_like_plain_training_and_its_checkpoint_loads(tmp_path):
    from safetensors.torch import load_file

    from genxd.pipelines import GenXDPipeline

    sharded, plain = tmp_path / "fsdp", tmp_path / "plain"
    _launch_fsdp(sharded, 2)
    train_genxd(load_config(TINY, [f"output_dir={plain}", *COMMON, "training.max_steps=2"]))
    assert _losses(sharded) == pytest.approx(_losses(plain), rel=2e-3)

    ck_sharded = sharded / "checkpoints" / "checkpoint-0000002"
    ck_plain = plain / "checkpoints" / "checkpoint-0000002"
    wa = load_file(str(ck_sharded / "unet" / "diffusion_pytorch_model.safetensors"))
    wb = load_file(str(ck_plain / "unet" / "diffusion_pytorch_model.safetensors"))
    assert wa.keys() == wb.keys()
    diff = max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)
    assert diff < 1e-3, diff  # two AdamW steps at lr <= 2e-4: same update up to GPU round-off

    pipe = GenXDPipeline.from_pretrained(ck_sharded)  # full (unsharded) weights in the pipeline folder
    assert sum(p.numel() for p in pipe.unet.parameters()) == sum(v.numel() for v in wb.values())

    # resume the sharded run for one more step
    proc = _launch_fsdp(sharded, 3, "--resume", "latest")
    assert "resumed from" in proc.stdout + proc.stderr
    assert len(_losses(sharded)) == 3
    state = json.loads((sharded / "checkpoints" / "checkpoint-0000003" / "training_state.json").read_text())
    assert state["step"] == 3 and state["num_processes"] == 1


def test_fsdp_refuses_ema(tmp_path):
    proc = _launch_fsdp(tmp_path / "ema", 1, "training.ema.enabled=true", check=False)
    assert proc.returncode != 0 and "not supported with FSDP" in proc.stdout + proc.stderr
