"""Which checkpoints of a run folder a run removes (genxd.training.loop.TrainingRun): a checkpoint linked in by hand
is unlinked, never followed, and a removal that fails is said; a checkpoint of another run folder resumed into one
with checkpoints of its own leaves them all (no line of either is cut in two)."""

from __future__ import annotations

import json
import os
import shutil
import types
from pathlib import Path

import pytest

from genxd.training.checkpoint_files import list_checkpoints, resume_setting
from genxd.training.loop import TrainingRun


def _checkpoint(folder: Path, step: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "training_state.json").write_text(json.dumps({"step": step}))
    return folder


def _run(output_dir: Path, resume_from: Path | None = None, total_limit: int | None = None) -> TrainingRun:
    """A TrainingRun holding only what choosing and removing checkpoints reads (no model, data or accelerator)."""
    run = TrainingRun.__new__(TrainingRun)
    run.output_dir, run.checkpoint_dir, run.resume_from = output_dir, output_dir / "checkpoints", resume_from
    run.ckpt_cfg = types.SimpleNamespace(total_limit=total_limit)
    run.notes = []
    run.print = lambda *args: run.notes.append(" ".join(map(str, args)))
    run._replaced = []
    return run


def _publish(run: TrainingRun, step: int) -> None:
    tmp = _checkpoint(run.checkpoint_dir / f".checkpoint-{step:07d}.part", step)
    run._publish_checkpoint(tmp, run.checkpoint_dir / f"checkpoint-{step:07d}")


def test_a_linked_checkpoint_of_the_abandoned_line_is_unlinked_and_its_target_kept(tmp_path):
    """Resumed from step 1 beside checkpoint-0000009, a link to a kept checkpoint: it was announced as removed but
    stayed (rmtree refuses a link; the error was swallowed), and --resume latest took it. The link goes, what it
    points to stays."""
    ckpts = tmp_path / "run" / "checkpoints"
    for step in (1, 2):
        _checkpoint(ckpts / f"checkpoint-{step:07d}", step)
    archive = _checkpoint(tmp_path / "archive" / "ckpt9", 9)
    os.symlink(archive, ckpts / "checkpoint-0000009")
    run = _run(tmp_path / "run", ckpts / "checkpoint-0000001")
    run._replaced = run._later_checkpoints(1)
    assert "checkpoint-0000002, checkpoint-0000009" in run.notes[0]
    _publish(run, 3)
    assert [c.name for c in list_checkpoints(ckpts)] == ["checkpoint-0000001", "checkpoint-0000003"]
    assert (archive / "training_state.json").is_file() and len(run.notes) == 1


def test_a_linked_checkpoint_past_the_limit_is_unlinked(tmp_path):
    ckpts = tmp_path / "run" / "checkpoints"
    archive = _checkpoint(tmp_path / "archive" / "ckpt1", 1)
    ckpts.mkdir(parents=True)
    os.symlink(archive, ckpts / "checkpoint-0000001")
    _publish(_run(tmp_path / "run", total_limit=1), 2)
    assert [c.name for c in list_checkpoints(ckpts)] == ["checkpoint-0000002"] and archive.is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root removes from a read-only folder")
def test_a_checkpoint_that_cannot_be_removed_is_named_in_a_warning(tmp_path):
    """A removal that fails (a checkpoint in a folder the run may not write) is not silent: a warning names it."""
    ckpts = tmp_path / "run" / "checkpoints"
    stuck = _checkpoint(ckpts / "checkpoint-0000005", 5)
    (stuck / "sub").mkdir()
    (stuck / "sub" / "f").write_text("x")
    run = _run(tmp_path / "run")
    run._replaced = [stuck]
    os.chmod(stuck / "sub", 0o500)
    try:
        _publish(run, 3)
    finally:
        os.chmod(stuck / "sub", 0o700)
    assert len(run.notes) == 1 and run.notes[0].startswith(f"warning: {stuck} could not be removed (")


def test_a_checkpoint_that_cannot_be_removed_is_named_in_a_warning_any_user(tmp_path, monkeypatch):
    """The same for any user (root may write anywhere): the deletion itself fails (it failed in silence before,
    ``rmtree(..., ignore_errors=True)``)."""
    stuck = _checkpoint(tmp_path / "run" / "checkpoints" / "checkpoint-0000005", 5)
    run = _run(tmp_path / "run")
    run._replaced = [stuck]
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if Path(path) != stuck:
            return real_rmtree(path, *args, **kwargs)
        if not kwargs.get("ignore_errors"):
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    _publish(run, 3)
    assert stuck.is_dir()
    assert run.notes == [f"warning: {stuck} could not be removed (Permission denied); it may be left whole or in "
                         f"part, and {resume_setting('latest')} may take it: remove it by hand"]


def test_another_run_folders_checkpoint_resumed_into_a_folder_with_its_own_leaves_them_all(tmp_path):
    """--resume RUN/checkpoints/checkpoint-0000003 with output_dir RUN2 (holding 2, 4, 6 of a branch made earlier):
    RUN2's newer 4 and 6 were removed and its older 2 kept, the two lines mixed. RUN2's checkpoints all stay, said
    in a note; from RUN2's own checkpoint the newer ones still go."""
    for step in (1, 2, 3):
        _checkpoint(tmp_path / "RUN" / "checkpoints" / f"checkpoint-{step:07d}", step)
    ckpts2 = tmp_path / "RUN2" / "checkpoints"
    for step in (2, 4, 6):
        _checkpoint(ckpts2 / f"checkpoint-{step:07d}", step)
    foreign = _run(tmp_path / "RUN2", tmp_path / "RUN" / "checkpoints" / "checkpoint-0000003")
    foreign._replaced = foreign._later_checkpoints(3)
    _publish(foreign, 4)
    assert [c.name for c in list_checkpoints(ckpts2)] == ["checkpoint-0000002", "checkpoint-0000004",
                                                           "checkpoint-0000006"]
    assert foreign.notes == [
        f"note: resuming from {tmp_path / 'RUN' / 'checkpoints' / 'checkpoint-0000003'}, of another run folder, into "
        f"{tmp_path / 'RUN2'}, which holds checkpoints of its own (checkpoint-0000002, checkpoint-0000004, "
        f"checkpoint-0000006): they are kept beside this run's, and {resume_setting('latest')} takes the highest step "
        "of either line (resume into a new output_dir to keep them apart)"]
    # its own checkpoint, named through a path of its own spelling: the newer line goes
    own = _run(tmp_path / "RUN2", tmp_path / "RUN2" / "." / "checkpoints" / "checkpoint-0000002")
    own._replaced = own._later_checkpoints(2)
    _publish(own, 3)
    assert [c.name for c in list_checkpoints(ckpts2)] == ["checkpoint-0000002", "checkpoint-0000003"]


def test_overwrite_unlinks_a_linked_checkpoint_once_the_new_run_has_one(tmp_path):
    """--overwrite passed a checkpoint linked in by hand over (remove_run_outputs took folders that are no links):
    the link stayed beside the new run's checkpoints and --resume latest took the old line (step 9)."""
    from genxd.training.run_outputs import remove_run_outputs

    ckpts = tmp_path / "run" / "checkpoints"
    _checkpoint(ckpts / "checkpoint-0000001", 1)
    archive = _checkpoint(tmp_path / "archive" / "ckpt9", 9)
    os.symlink(archive, ckpts / "checkpoint-0000009")
    run = _run(tmp_path / "run")
    run._replaced = remove_run_outputs(tmp_path / "run", keep_checkpoints=True)
    assert sorted(p.name for p in run._replaced) == ["checkpoint-0000001", "checkpoint-0000009"]
    _publish(run, 2)
    assert [c.name for c in list_checkpoints(ckpts)] == ["checkpoint-0000002"]
    assert (archive / "training_state.json").is_file()  # the link goes, not what it points to
    os.symlink(archive, ckpts / "checkpoint-0000009")
    remove_run_outputs(tmp_path / "run")  # without keep_checkpoints: removed at once
    assert not os.path.lexists(ckpts / "checkpoint-0000009") and archive.is_dir()


def test_pruning_keeps_a_checkpoint_the_user_named(tmp_path):
    """A copy of a checkpoint kept by the user beside the run's (checkpoint-best, checkpoint-0000001-keep: whole
    checkpoints, training_state.json included): it sorts as the oldest, and checkpoint.total_limit removed it first.
    Only the run's checkpoint-NNNNNNN folders are pruned now, as --overwrite removes only those."""
    ckpts = tmp_path / "run" / "checkpoints"
    for step in (1, 2):
        _checkpoint(ckpts / f"checkpoint-{step:07d}", step)
    kept = [_checkpoint(ckpts / "checkpoint-best", 1), _checkpoint(ckpts / "checkpoint-0000001-keep", 1)]
    run = _run(tmp_path / "run", total_limit=2)
    _publish(run, 3)
    assert sorted(c.name for c in list_checkpoints(ckpts)) == [
        "checkpoint-0000001-keep", "checkpoint-0000002", "checkpoint-0000003", "checkpoint-best"]
    assert all((c / "training_state.json").is_file() for c in kept) and run.notes == []
