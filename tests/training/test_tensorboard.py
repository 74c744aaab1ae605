"""TensorBoard logging of ``genxd train`` (the ``tensorboard`` extra) and its absence."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY

SHORT = [*QUIET, "data.datasets.0.length=2", "training.max_steps=2", "training.ema.enabled=false",
         "logging.tensorboard=true"]


def test_scalars_and_hparams_reach_tensorboard(tmp_path):
    pytest.importorskip("tensorboard", reason="needs the 'tensorboard' extra: pip install -e '.[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    train_genxd(load_config(TINY, [*SHORT, f"output_dir={out}"]), cpu=True)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    events = sorted((out / "logs").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    scalars = {}
    for event in events:
        acc = EventAccumulator(str(event.parent))
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            scalars[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    assert {"loss", "lr", "grad_norm"} <= set(scalars)
    for tag in ("loss", "lr", "grad_norm"):
        assert [s for s, _ in scalars[tag]] == [r["step"] for r in rows] == [1, 2]
        # TensorBoard stores float32: the same numbers as metrics.jsonl to float32 precision
        assert [v for _, v in scalars[tag]] == pytest.approx([r[tag] for r in rows], rel=1e-6)
    hparams = [yaml.safe_load(p.read_text()) for p in (out / "logs").rglob("hparams.yml")]
    assert hparams and hparams[0]["training.max_steps"] == 2


def test_without_tensorboard_training_logs_to_jsonl_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if the extra were not installed
    out = tmp_path / "run"
    train_genxd(load_config(TINY, [*SHORT, f"output_dir={out}"]), cpu=True)
    assert "tensorboard is not installed" in capsys.readouterr().err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert not list(out.rglob("events.out.tfevents.*"))
