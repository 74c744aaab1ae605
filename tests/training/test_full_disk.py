"""``genxd train`` on a full disk: the run folder's small files (``config.yaml``, ``metrics.jsonl``) are written
whole or not at all, and the error is one line naming the file."""

from __future__ import annotations

import errno
import json
import os
import pathlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from .conftest import QUIET, TINY


def _train(out: Path, *extra: str):
    return CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "training.max_steps=1", "--cpu",
                                    *extra])


@pytest.fixture(scope="module")
def one_step_run(tmp_path_factory) -> Path:
    """A finished one-step run (config.yaml, metrics.jsonl, checkpoint-0000001): the tests resume copies of it."""
    out = tmp_path_factory.mktemp("full_disk") / "run"
    assert _train(out).exit_code == 0
    return out


def _copy_of(run: Path, tmp_path: Path) -> Path:
    """A copy of ``run`` in ``tmp_path`` (the tests change their run folder)."""
    return Path(shutil.copytree(run, tmp_path / "run"))


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("genxd: error:")]


def test_a_full_disk_while_writing_config_yaml_leaves_the_earlier_one_and_no_temporary(one_step_run, tmp_path, monkeypatch):
    """config.yaml was written to ``.config.yaml.part`` and renamed: a full disk left the half-written ``.part``
    in the run folder (never cleaned) and the error did not say which file."""
    out = _copy_of(one_step_run, tmp_path)
    before = (out / "config.yaml").read_bytes()
    real_write_text = pathlib.Path.write_text

    def full_disk(self, data, *args, **kwargs):
        if "config.yaml" in self.name:
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing "
                                        f"{out / 'config.yaml'}"], res.output
    assert "Traceback" not in res.output
    assert (out / "config.yaml").read_bytes() == before
    # no temporary left; the run lock's file stays by design (genxd.training.run_lock: never stale)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".genxd-train.lock"]


def test_a_full_disk_while_logging_is_one_line_naming_metrics_jsonl_and_no_torn_row(one_step_run, tmp_path, monkeypatch):
    """A full disk cut a metrics row short: the error named no file, and the torn row swallowed the first row
    logged after it by ``--resume latest`` (that step was missing from metrics.jsonl)."""
    out = _copy_of(one_step_run, tmp_path)
    metrics = out / "metrics.jsonl"
    before = metrics.read_bytes()
    real_write, calls = os.write, []

    def full_disk(fd, data):  # room for half of the first row written, then none
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", full_disk)
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    monkeypatch.undo()
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing "
                                        f"{metrics}"], res.output
    assert metrics.read_bytes() == before  # nothing of the row that did not fit

    with open(metrics, "ab") as fh:  # a row torn by a crash (kill -9 mid-write, a power cut)
        fh.write(b'{"step": 2, "lo')
    assert _train(out, "--resume", "latest", "training.max_steps=2").exit_code == 0
    steps = []
    for line in metrics.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except ValueError:
            pass
    assert steps == [1, 2]


def test_a_full_disk_while_torch_saves_the_optimiser_state_is_one_line(one_step_run, tmp_path, monkeypatch):
    """torch.save (accelerate's optimizer.bin) reports a full disk as ``RuntimeError: [enforce fail at
    inline_container.cc:672] . unexpected pos ...`` with no errno: a traceback and exit 1. Now the disk is looked at:
    one line naming the checkpoint, exit 2, the earlier checkpoint intact; the same error with room left is still a
    bug (a traceback)."""
    import accelerate

    out = _copy_of(one_step_run, tmp_path)
    ckpts = out / "checkpoints"
    real_statvfs = os.statvfs

    def torch_save_on_full_disk(self, output_dir=None, **kwargs):
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "optimizer.bin").write_bytes(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2797696 vs 2797584")

    def no_room_under_the_run(path):
        st = real_statvfs(path)
        if str(out) not in os.fspath(path):
            return st
        return os.statvfs_result((st.f_bsize, st.f_frsize, st.f_blocks, 0, 0, *tuple(st)[5:]))

    monkeypatch.setattr(accelerate.Accelerator, "save_state", torch_save_on_full_disk)
    monkeypatch.setattr(os, "statvfs", no_room_under_the_run)
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing checkpoint "
                                        f"{ckpts / 'checkpoint-0000002'}"], res.output
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001"]
    assert (ckpts / "checkpoint-0000001" / "training_state.json").is_file()

    monkeypatch.setattr(os, "statvfs", real_statvfs)  # room left: not a full disk, not said to be one
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 1 and isinstance(res.exception, RuntimeError), res.output
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001"]


def test_a_full_disk_error_naming_no_file_names_the_checkpoint(one_step_run, tmp_path, monkeypatch):
    """Python's own writes inside the checkpoint (training_state.json, config.json) raise ENOSPC with no file name:
    the line said only "[Errno 28] No space left on device"."""
    import accelerate

    out = _copy_of(one_step_run, tmp_path)

    def full(self, output_dir=None, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(accelerate.Accelerator, "save_state", full)
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing checkpoint "
                                        f"{out / 'checkpoints' / 'checkpoint-0000002'}"], res.output


def test_a_full_disk_under_tensorboard_is_one_line_naming_the_log_folder(tmp_path, monkeypatch):
    """TensorBoard writes from a thread: on a full disk that thread printed its traceback (``Exception in thread
    Thread-1: ...``) around genxd's line, which named no file."""
    import threading

    import pytest

    record_writer = pytest.importorskip("tensorboard.summary.writer.record_writer")

    def full_disk(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    reported = []  # what Python's thread hook would print ("Exception in thread Thread-1: Traceback ...")
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append((args.thread, args.exc_value)))
    monkeypatch.setattr(record_writer.RecordWriter, "write", full_disk)
    out = tmp_path / "run"
    res = _train(out, "logging.tensorboard=true")
    for thread in threading.enumerate():  # the writer thread's report, if any, is made before it ends
        if type(thread).__name__ == "_AsyncWriterThread":
            thread.join(timeout=10)
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing the "
                                        f"TensorBoard log in {out / 'logs'}"], res.output
    assert "Traceback" not in res.output and reported == []


def test_the_error_that_stopped_the_run_is_the_one_shown_when_tensorboard_cannot_close_either(tmp_path, monkeypatch):
    """On a full disk the checkpoint fails first, then closing TensorBoard's writer (in the loop's ``finally``)
    fails too: its error replaced the checkpoint's, which says what was lost."""
    import accelerate
    import pytest

    tracking = pytest.importorskip("accelerate.tracking")
    pytest.importorskip("tensorboard")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(accelerate.Accelerator, "save_state", full)
    monkeypatch.setattr(tracking.TensorBoardTracker, "finish", full)
    out = tmp_path / "run"
    res = _train(out, "logging.tensorboard=true")
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno 28] No space left on device while writing checkpoint "
                                        f"{out / 'checkpoints' / 'checkpoint-0000001'}"], res.output


@pytest.mark.parametrize("error", [
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    RuntimeError('Error while serializing: IoError(Os { code: 122, kind: FilesystemQuotaExceeded, message: '
                 '"Disk quota exceeded" })'),
])
def test_a_disk_quota_is_one_line_as_a_full_disk(one_step_run, tmp_path, monkeypatch, error):
    """A user's disk quota (EDQUOT) is no full disk to statvfs: safetensors' words for it ('Disk quota exceeded')
    were not recognised, and the checkpoint failed with a traceback (exit 1); now one line naming the checkpoint,
    as a full disk, the earlier checkpoint kept."""
    import accelerate

    out = _copy_of(one_step_run, tmp_path)

    def over_quota(self, output_dir=None, **kwargs):
        raise error

    monkeypatch.setattr(accelerate.Accelerator, "save_state", over_quota)
    res = _train(out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    assert _error_lines(res.output) == [f"genxd: error: [Errno {errno.EDQUOT}] Disk quota exceeded while writing "
                                        f"checkpoint {out / 'checkpoints' / 'checkpoint-0000002'}"], res.output
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-0000001"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_out_of_space_tells_a_full_disk_and_a_quota(code):
    from genxd.utils.disk_space import out_of_space

    assert out_of_space(OSError(code, os.strerror(code))) == code
    assert out_of_space(RuntimeError(f"IoError(Os {{ code: {code}, message: \"{os.strerror(code)}\" }})")) == code
    assert out_of_space(OSError(errno.EACCES, "Permission denied")) is None
    assert out_of_space(RuntimeError("unexpected pos 10 vs 12")) is None
