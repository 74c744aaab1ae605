"""``genxd train-vae`` on the tiny preset: the loss goes down, ``vae/`` folders load with a measured
scaling factor, and a GenXD run can use the trained VAE."""

from __future__ import annotations

import json

from diffusers import AutoencoderKLTemporalDecoder
from typer.testing import CliRunner

from genxd.cli import app

from .conftest import QUIET, TINY, TINY_VAE


def test_train_vae_then_use_it_for_genxd(tmp_path):
    out = tmp_path / "vae_run"
    result = CliRunner().invoke(app, ["train-vae", str(TINY_VAE), f"output_dir={out}", *QUIET, "logging.every_steps=4",
                                      "training.max_steps=16", "data.datasets.0.length=2", "validation.every_steps=16"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 4 and losses[-1] < 0.9 * losses[0], losses
    assert all(r["kl"] > 0 for r in rows if "kl" in r)
    assert (out / "validation" / "step_0000016_0.mp4").is_file()
    ckpt = out / "checkpoints" / "checkpoint-0000016"
    vae = AutoencoderKLTemporalDecoder.from_pretrained(ckpt / "vae")
    assert vae.config.scaling_factor != 0.18215 and 0.01 < vae.config.scaling_factor < 100

    run = tmp_path / "genxd_run"
    result = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={run}", *QUIET, "training.max_steps=1",
                                      "data.datasets.0.length=2", f"model.vae.pretrained={out / 'checkpoints' / 'latest'}"])
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "checkpoints" / "checkpoint-0000001" / "vae" / "config.json").read_text())
    assert saved["scaling_factor"] == vae.config.scaling_factor
