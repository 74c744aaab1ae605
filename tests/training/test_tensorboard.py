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


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_a_run_that_fails_keeps_its_logged_scalars(tmp_path, monkeypatch, kind):
    """An error in the middle of a run (here the third step's loss; a non-finite loss, an interrupt) closes the
    TensorBoard writer: the scalars of the steps before it are in the event file, and no writer thread is left
    (before the fix the writer was never closed: its queue was dropped at exit, and each failed run in a Python
    session left a thread behind)."""
    pytest.importorskip("tensorboard", reason="needs the 'tensorboard' extra: pip install -e '.[tensorboard]'")
    import threading

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import genxd.training.trainer as genxd_trainer
    import genxd.training.vae_trainer as vae_trainer
    from genxd.training.vae_trainer import train_vae

    from .conftest import TINY_VAE

    module, name = (genxd_trainer, "genxd_loss") if kind == "genxd" else (vae_trainer, "VAEWithPosterior")
    real, calls = getattr(module, name), []

    def failing(*args, **kwargs):
        calls.append(1)
        if kind == "genxd" and len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    if kind == "vae":  # the wrapped model's forward fails at the third step
        class Failing(real):
            def forward(self, *args, **kwargs):
                calls.append(1)
                if len(calls) == 3:
                    raise KeyboardInterrupt
                return super().forward(*args, **kwargs)
        monkeypatch.setattr(module, name, Failing)
    else:
        monkeypatch.setattr(module, name, failing)
    out = tmp_path / "run"
    overrides = [*SHORT, "training.max_steps=5", f"output_dir={out}"]
    threads_before = {t.ident for t in threading.enumerate()}
    with pytest.raises(KeyboardInterrupt):
        if kind == "genxd":
            train_genxd(load_config(TINY, overrides), cpu=True)
        else:
            train_vae(load_config(TINY_VAE, [*overrides, "training.ema.enabled=false"], kind="vae"), cpu=True)
    steps = set()
    for event in sorted((out / "logs").rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(event.parent))
        acc.Reload()
        if "loss" in acc.Tags()["scalars"]:
            steps |= {e.step for e in acc.Scalars("loss")}
    assert steps == {1, 2}
    writers = [t for t in threading.enumerate() if t.ident not in threads_before and "AsyncWriter" in type(t).__name__]
    assert not writers, writers


def test_without_tensorboard_training_logs_to_jsonl_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if the extra were not installed
    out = tmp_path / "run"
    train_genxd(load_config(TINY, [*SHORT, f"output_dir={out}"]), cpu=True)
    assert 'tensorboard is not installed: logging to metrics.jsonl only (pip install "genxd[tensorboard]")' in capsys.readouterr().err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert not list(out.rglob("events.out.tfevents.*"))
