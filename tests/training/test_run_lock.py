"""One training run at a time in a run folder (``genxd.training.run_lock``). Two ``genxd train`` runs started on one
folder interleaved their ``metrics.jsonl`` rows (each step twice), deleted each other's ``.checkpoint-N.part`` and
both ended in a safetensors traceback; the lock goes with its process, so a run killed with ``kill -9`` leaves
nothing that stops the next."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from .conftest import QUIET, TINY

pytest.importorskip("fcntl")


def _train(out: Path, *extra: str):
    return CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "training.max_steps=1",
                                    "data.datasets.0.length=4", "--cpu", *extra])


def _holder(out: Path) -> subprocess.Popen:
    """Another process holding ``out``'s lock, as a running ``genxd train`` does (started and holding it)."""
    code = textwrap.dedent(f"""
        import sys, time
        from genxd.training.run_lock import RunFolderLock
        lock = RunFolderLock({str(out)!r})
        assert lock.acquire() is None
        print("held", flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("genxd: error:")]


def test_a_second_run_in_a_folder_another_run_holds_is_one_line_and_a_killed_holder_stops_nothing(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        for extra in ((), ("--resume", "latest"), ("--overwrite",)):
            busy = _train(out, *extra)
            assert busy.exit_code == 2, busy.output
            lines = _error_lines(busy)
            assert len(lines) == 1 and "Traceback" not in busy.output, busy.output
            assert f"output_dir {out} is in use by another training run (process {holder.pid} on " in lines[0]
            assert sorted(p.name for p in out.iterdir()) == [".genxd-train.lock"]  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9: the kernel let the lock go with the process; the file left behind does not stop the next run
    ok = _train(out)
    assert ok.exit_code == 0, ok.output
    assert (out / "checkpoints" / "checkpoint-0000001" / "training_state.json").is_file()
    again = _train(out, "training.max_steps=2", "--resume", "latest")  # this process's own run let it go too
    assert again.exit_code == 0, again.output


def test_two_runs_past_the_early_check_at_once_the_later_is_refused_before_it_writes(tmp_path, monkeypatch):
    """Two runs started together both pass the check made before the model loads; the one that reaches the folder
    second (here: the holder came first) is refused when it would start writing, and writes nothing."""
    import genxd.training.loop as loop
    import genxd.training.run_lock as run_lock

    out = tmp_path / "run"
    holder = _holder(out)
    monkeypatch.setattr(run_lock, "in_use_error", lambda output_dir: None)  # the early checks saw it free
    monkeypatch.setattr(loop, "in_use_error", lambda output_dir: None)
    monkeypatch.setattr(run_lock, "_WAIT_S", 0.2)
    try:
        busy = _train(out)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert busy.exit_code == 2, busy.output
    lines = _error_lines(busy)
    assert len(lines) == 1 and "is in use by another training run" in lines[0], busy.output
    assert sorted(p.name for p in out.iterdir()) == [".genxd-train.lock"]


def test_a_run_that_finished_meanwhile_is_not_started_over_without_overwrite(tmp_path, monkeypatch):
    """Run A finished in the folder while run B, started as a fresh run just after A, was building its model: B
    is refused when it starts writing, as it would have been at the start (A's checkpoints are kept)."""
    import genxd.training.loop as loop

    out = tmp_path / "run"
    first = _train(out)
    assert first.exit_code == 0, first.output
    made = (out / "checkpoints" / "checkpoint-0000001" / "training_state.json").read_bytes()
    # B's early checks ran before A's first checkpoint
    import genxd.training.checkpoint_files as files

    monkeypatch.setattr(files, "existing_run_error", lambda output_dir: None)
    real = loop.existing_run_error
    calls = []

    def later(output_dir):
        calls.append(output_dir)
        return None if len(calls) == 1 else real(output_dir)

    monkeypatch.setattr(loop, "existing_run_error", later)
    late = _train(out, "training.max_steps=2")
    assert late.exit_code == 2, late.output
    assert "already holds checkpoints" in _error_lines(late)[0], late.output
    assert (out / "checkpoints" / "checkpoint-0000001" / "training_state.json").read_bytes() == made
    assert not (out / "checkpoints" / "checkpoint-0000002").exists()


def _one_step_run(tmp_path, kind: str):
    """The run folder, config and trainer of a one-step run of the tiny ``kind`` model ("genxd" or "vae")."""
    from genxd.training import trainer, vae_trainer
    from genxd.training.config import load_config

    from .conftest import TINY_VAE

    out = tmp_path / "run"
    overrides = [*QUIET, f"output_dir={out}", "logging.tensorboard=false", "training.max_steps=1",
                 "data.datasets.0.length=4"]
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE, overrides, kind=kind)
    return out, cfg, trainer.train_genxd if kind == "genxd" else vae_trainer.train_vae


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_an_error_just_after_the_run_takes_the_folder_lets_the_lock_go(tmp_path, monkeypatch, kind):
    """An error raised after begin() took the lock and before the trainers' try/finally (here the data line; also
    the validation samples, the progress bar, the DataLoader's start) left the lock held for as long as the run
    object lived: in a notebook, whose last traceback keeps it, the retry was refused as 'in use by another
    training run (process <this process>)'. The lock goes with the error now."""
    from genxd.training.loop import TrainingRun
    from genxd.training.run_lock import in_use_error

    def broken(self, dataset):
        raise OSError("stdout went away")

    out, cfg, train = _one_step_run(tmp_path, kind)
    with monkeypatch.context() as patched:
        patched.setattr(TrainingRun, "print_data", broken)
        with pytest.raises(OSError, match="stdout went away") as failed:  # kept, as a notebook keeps its last one
            train(cfg, cpu=True)
    assert (out / ".genxd-train.lock").is_file()  # the run had taken the folder
    assert in_use_error(out) is None, "the failed run still holds its folder"
    assert train(cfg, cpu=True, overwrite=True) is not None  # the retry runs
    del failed


@pytest.mark.parametrize("kind, how", [("genxd", "other process"), ("vae", "other process"), ("genxd", "ctrl-c")])
def test_a_failure_reaching_begin_after_the_lock_was_taken_lets_the_lock_go(tmp_path, monkeypatch, kind, how):
    """begin() (now TrainingRun.started) let the lock go only on the main process's own error: another process's failure, learnt at
    begin()'s raise_if_any_failed after the main process had taken the lock (simulated here: the agreement reports
    a failed process 1 of 2), or a Ctrl-C while the main process prepared the folder (not an Exception), left
    begin() before the trainers' try/finally with the lock held: a notebook retrying was refused as 'in use by
    another training run (process <this process>)'. Any way out of begin() lets it go now."""
    from genxd.training.loop import TrainingRun
    from genxd.training.run_lock import in_use_error
    from genxd.utils.shared_work import OtherProcessFailed

    taken = []
    real_agree = TrainingRun.raise_if_any_failed

    def other_failed(self, error):
        real_agree(self, error)
        taken.append(self.folder_lock.held)
        raise OtherProcessFailed("process 1 of 2 failed")

    def interrupted(self):
        taken.append(self.folder_lock.held)
        raise KeyboardInterrupt

    out, cfg, train = _one_step_run(tmp_path, kind)
    with monkeypatch.context() as patched:
        if how == "ctrl-c":
            patched.setattr(TrainingRun, "_write_config", interrupted)
        else:
            patched.setattr(TrainingRun, "raise_if_any_failed", other_failed)
        with pytest.raises(KeyboardInterrupt if how == "ctrl-c" else OtherProcessFailed) as failed:  # kept, as a
            train(cfg, cpu=True)  # notebook keeps its last one
    assert taken == [True]  # the failure came once the run held its folder
    assert in_use_error(out) is None, "the failed run still holds its folder"
    del failed


def test_a_failed_run_with_dataloader_workers_lets_the_lock_go(tmp_path, monkeypatch):
    """The DataLoader's persistent workers, forked after the lock was taken, share its descriptor: closing the run's
    own copy left the folder locked while they lived (as long as a kept traceback keeps the loader). The lock is
    let go explicitly (LOCK_UN) now."""
    from genxd.training import trainer
    from genxd.training.config import load_config
    from genxd.training.run_lock import in_use_error

    def broken(*args, **kwargs):
        raise FloatingPointError("the loss blew up")

    out = tmp_path / "run"
    cfg = load_config(TINY, [*QUIET, f"output_dir={out}", "logging.tensorboard=false", "training.max_steps=1",
                             "data.datasets.0.length=4", "data.num_workers=1"])
    with monkeypatch.context() as patched:
        patched.setattr(trainer, "genxd_loss", broken)
        with pytest.raises(FloatingPointError) as failed:  # kept, as a notebook keeps its last one
            trainer.train_genxd(cfg, cpu=True)
    assert in_use_error(out) is None, "the failed run's DataLoader workers still hold its folder"
    del failed


def test_without_fcntl_a_run_trains_unlocked(tmp_path, monkeypatch):
    """Windows has no ``fcntl`` (nor ``os.pread``): the run lock was written to go on unlocked there, but the first
    metrics row (``append_line``) imported fcntl and the run ended in ModuleNotFoundError. It trains now."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as on Windows
    monkeypatch.delattr(os, "pread")
    out = tmp_path / "run"
    ok = _train(out)
    assert ok.exit_code == 0, ok.output
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]
    assert not (out / ".genxd-train.lock").exists()  # nothing was locked
