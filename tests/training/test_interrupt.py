"""Ctrl-C and SIGTERM during ``genxd train``: the step in progress ends, a checkpoint of it is saved (when a step ran
since the last one), and the command exits 130 / 143 as before; a second Ctrl-C stops at once, leaving no half
checkpoint, while a second SIGTERM (a scheduler's stop reaching a process both directly and through its launcher) is
held as the first."""

from __future__ import annotations

import json
import os
import signal

import pytest
from typer.testing import CliRunner

import genxd.training.trainer as trainer
from genxd.cli import app
from genxd.cli.process_exit import stop_cleanly_on_sigterm
from genxd.training.checkpoint_files import list_checkpoints

from .broken_data import ThreeBatchesThenBroken
from .conftest import QUIET, TINY


@pytest.fixture
def cli_signals():
    """The command line's SIGTERM handler (genxd.cli.main installs it), restored afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stop_cleanly_on_sigterm()
    yield
    signal.signal(signal.SIGTERM, before)


def _signal_at_loss_call(monkeypatch, signals: dict[int, int | tuple[int, ...]]) -> None:
    """Send ``signals[n]`` (one signal or several in turn) to this process during the n-th loss computation
    (1-based): mid-step, as a user would."""
    real, calls = trainer.genxd_loss, [0]

    def loss(*args, **kwargs):
        calls[0] += 1
        sent = signals.get(calls[0], ())
        for sig in sent if isinstance(sent, tuple) else (sent,):
            os.kill(os.getpid(), sig)
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "genxd_loss", loss)


def _train(out, *extra):
    return CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "data.datasets.0.length=4",
                                    "training.max_steps=10", "checkpoint.every_steps=2", "--cpu", *extra])


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_saves_the_step_in_progress_then_exits(tmp_path, monkeypatch, cli_signals, sig, code):
    out = tmp_path / "run"
    _signal_at_loss_call(monkeypatch, {3: sig})  # during step 3; step 2 was saved
    result = _train(out)
    assert result.exit_code == code, result.output
    assert "interrupted at step 3: checkpoint saved" in result.output
    found = list_checkpoints(out / "checkpoints")
    assert [p.name for p in found] == ["checkpoint-0000002", "checkpoint-0000003"]
    assert json.loads((found[-1] / "training_state.json").read_text())["step"] == 3
    assert not list((out / "checkpoints").glob(".*.part"))

    monkeypatch.undo()
    resumed = _train(out, "--resume", "latest", "training.max_steps=4")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from" in resumed.output and "(step 3)" in resumed.output


def test_an_interrupt_right_after_a_checkpoint_saves_nothing_more(tmp_path, monkeypatch, cli_signals):
    out = tmp_path / "run"
    # during step 2, saved by checkpoint.every_steps at its end: no second save of the same step
    _signal_at_loss_call(monkeypatch, {2: signal.SIGINT})
    result = _train(out)
    assert result.exit_code == 130, result.output
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["checkpoint-0000002"]


def test_a_second_interrupt_during_the_save_leaves_no_half_checkpoint(tmp_path, monkeypatch, cli_signals):
    out = tmp_path / "run"
    _signal_at_loss_call(monkeypatch, {1: signal.SIGINT})
    real = trainer.save_module

    def save_module(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl-C, mid-save

    monkeypatch.setattr(trainer, "save_module", save_module)
    result = _train(out)
    assert result.exit_code == 130, result.output
    assert "checkpoint saved" not in result.output
    assert list_checkpoints(out / "checkpoints") == [] and not list((out / "checkpoints").glob(".*"))


def test_a_sigterm_sent_twice_still_saves_the_step_in_progress(tmp_path, monkeypatch, cli_signals):
    """scancel or a time limit sends SIGTERM to every process of the job step: under accelerate launch / torchrun a
    training process got it twice (once more from the launcher passing it on) and stopped at once, losing the steps
    since the last checkpoint. A SIGTERM during the save did the same."""
    out = tmp_path / "run"
    _signal_at_loss_call(monkeypatch, {3: (signal.SIGTERM, signal.SIGTERM)})  # during step 3; step 2 was saved
    real, saves = trainer.save_module, [0]

    def save_module(*args, **kwargs):
        real(*args, **kwargs)
        saves[0] += 1
        if saves[0] == 3:  # amid the save of step 3 (two modules a checkpoint): a third SIGTERM
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer, "save_module", save_module)
    result = _train(out)
    assert result.exit_code == 143, result.output
    assert "interrupted at step 3: checkpoint saved" in result.output
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["checkpoint-0000002", "checkpoint-0000003"]


def test_an_item_that_cannot_be_read_saves_the_steps_before_it(tmp_path, monkeypatch):
    """One broken image stopped a run at the same step on every resume, and the steps since the last checkpoint were
    lost on each try (training audit, 2026-12-04). A data error comes between two steps: with one process, those
    steps are saved first, so that fixing the file and --resume latest loses nothing."""
    real = trainer.make_loader

    def flaky_loader(*args, **kwargs):
        return ThreeBatchesThenBroken(real(*args, **kwargs))

    monkeypatch.setattr(trainer, "make_loader", flaky_loader)
    out = tmp_path / "run"
    result = _train(out)  # checkpoint.every_steps=2: step 2 saved; step 3 ran, then the 4th batch failed
    assert result.exit_code == 2, result.output
    assert "frame_00005.png: cannot read image" in result.output and "step 3 was saved first" in result.output
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["checkpoint-0000002", "checkpoint-0000003"]


def test_an_item_that_cannot_be_read_in_the_middle_of_an_accumulated_step_saves_the_steps_before_it(tmp_path,
                                                                                                    monkeypatch):
    """With gradient accumulation a broken item in the second micro-batch of a step saved nothing (only a failure
    at a step's first batch saved the steps done), so the steps since the last checkpoint were lost. They are saved
    now (accelerate's micro-batch counter as at the step's start, so the resumed run accumulates as before), and
    --resume latest continues as an uninterrupted run."""
    real = trainer.make_loader
    monkeypatch.setattr(trainer, "make_loader", lambda *a, **k: ThreeBatchesThenBroken(real(*a, **k)))
    common = [*QUIET, "data.datasets.0.length=4", "training.gradient_accumulation_steps=2", "training.batch_size=1",
              "--cpu"]
    out = tmp_path / "run"
    # batches 1-2: step 1; batch 3: step 2's first micro-batch; batch 4 fails
    result = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *common, "training.max_steps=3"])
    assert result.exit_code == 2, result.output
    assert "step 1 was saved first" in result.output
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["checkpoint-0000001"]

    monkeypatch.undo()
    resumed = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *common, "training.max_steps=3",
                                       "--resume", "latest"])
    assert resumed.exit_code == 0, resumed.output
    clean = tmp_path / "clean"
    whole = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={clean}", *common, "training.max_steps=3"])
    assert whole.exit_code == 0, whole.output

    def losses(run):
        return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]

    assert losses(out) == pytest.approx(losses(clean), rel=1e-5)


def test_sigterm_to_python_m_genxd_training_saves_the_step_in_progress(tmp_path):
    """``python -m genxd.training`` (what ``accelerate launch -m`` starts) called the typer app without the command's
    start, so SIGTERM (a job scheduler's stop) kept Python's default: the process died at once, exit 143 without a
    line, the steps since the last checkpoint lost. It now starts as ``genxd`` does: the step ends, is saved, said."""
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "genxd.training", "train", str(TINY), f"output_dir={out}", *QUIET, "--cpu",
         "training.max_steps=100000", "data.datasets.0.length=4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    try:
        deadline = time.monotonic() + 120
        metrics = out / "metrics.jsonl"
        while not (metrics.is_file() and metrics.read_text().count("\n") >= 2):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, output
    saved = list_checkpoints(out / "checkpoints")
    assert len(saved) == 1, output
    step = json.loads((saved[0] / "training_state.json").read_text())["step"]
    assert step >= 2 and f"interrupted at step {step}: checkpoint saved" in output, output
