"""``genxd train`` into a run folder this user cannot write in: one line naming the folder, before any step is
trained. A read-only ``checkpoints`` folder resumed with ``--resume latest`` trained every step up to the first
checkpoint and then failed with "[Errno 13] Permission denied: '.../.checkpoint-0000006.part'" (the steps lost;
found running as a user who is not root, session 49). The tests that need permission bits skip as root (root
writes into 0555 folders); they were run as the user genxdtest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training import checkpoint_files

from .conftest import QUIET, TINY

as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root writes into 0555 folders")


def _train(out: Path, *extra: str, monkeypatch):
    """``genxd train`` of the tiny preset into ``out``; the trainer itself must not be reached."""
    import genxd.training.trainer as trainer

    def never(*args, **kwargs):
        raise AssertionError("the run started training in a folder it cannot write in")

    monkeypatch.setattr(trainer, "train_genxd", never)
    return CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "training.max_steps=1",
                                    "--cpu", *extra])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@as_root
def test_a_read_only_checkpoints_folder_is_refused_before_training(tmp_path, monkeypatch):
    """Run as genxdtest: checkpoints/ of the run folder 0555, ``--resume latest``."""
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    os.chmod(ckpts, 0o555)
    try:
        line = _one_error_line(_train(tmp_path / "run", "--resume", "latest", monkeypatch=monkeypatch))
    finally:
        os.chmod(ckpts, 0o755)
    assert f"is not writable ({ckpts} is not)" in line, line


@as_root
def test_a_read_only_output_dir_and_parent_are_refused_before_training(tmp_path, monkeypatch):
    """Run as genxdtest: output_dir 0555, and a new output_dir in a 0555 folder."""
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        line = _one_error_line(_train(ro, monkeypatch=monkeypatch))
        assert line == f"genxd: error: output_dir {ro} is not writable: read-only folder or no permission", line
        line = _one_error_line(_train(ro / "new", monkeypatch=monkeypatch))
        assert f"output_dir {ro / 'new'} is not writable ({ro} is not)" in line, line
    finally:
        os.chmod(ro, 0o755)


def test_a_checkpoints_folder_without_write_permission_is_refused_any_user(tmp_path, monkeypatch):
    """The same check for any user (root may write anywhere): permission as os.access reports it."""
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(checkpoint_files.os, "access",
                        lambda path, mode, **kw: Path(path) != ckpts and real_access(path, mode, **kw))
    line = _one_error_line(_train(tmp_path / "run", "--resume", "latest", monkeypatch=monkeypatch))
    assert f"is not writable ({ckpts} is not)" in line, line
    assert checkpoint_files.output_dir_error(tmp_path / "elsewhere") is None
