"""A checkpoint replaced by one of the same step (a run resumed before it saves that step again) survives until the
new one has its name (genxd.training.checkpoint_files.publish_checkpoint): a stop at any step of the swap, or a kill
(the next start puts a set-aside checkpoint back), leaves a whole checkpoint of that step for --resume latest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from genxd.training import checkpoint_files
from genxd.training.checkpoint_files import list_checkpoints, publish_checkpoint, restore_set_aside
from genxd.training.run_outputs import remove_run_outputs


def _checkpoint(folder: Path, step: int, line: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "training_state.json").write_text(json.dumps({"step": step, "line": line}))
    (folder / "weights.bin").write_bytes(line.encode() * 100)
    return folder


def _line(folder: Path) -> str:
    """Which run wrote the whole checkpoint ``folder`` ("old" / "new"), checked to be whole."""
    state = json.loads((folder / "training_state.json").read_text())
    assert (folder / "weights.bin").read_bytes() == state["line"].encode() * 100
    return state["line"]


def _stopping_on(monkeypatch, name: str, call: int, dead: bool = False) -> None:
    """``os.<name>`` raises KeyboardInterrupt on its ``call``-th use (1-based); ``dead``: on every use from then on
    (a killed process does nothing more: no rollback runs)."""
    real, calls = getattr(os, name), []

    def stopping(*args, **kwargs):
        calls.append(args)
        if len(calls) == call or (dead and len(calls) > call):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, stopping)


def _swap(ckpts: Path, step: int = 2) -> tuple[Path, Path]:
    """checkpoint-0000001 and an old checkpoint-0000002, and a complete new .checkpoint-0000002.part."""
    _checkpoint(ckpts / "checkpoint-0000001", 1, "first")
    final = _checkpoint(ckpts / f"checkpoint-{step:07d}", step, "old")
    tmp = _checkpoint(ckpts / f".checkpoint-{step:07d}.part", step, "new")
    return tmp, final


def _publish_as_save_does(tmp: Path, final: Path) -> None:
    """TrainingRun.save around the publish: a stop removes the unfinished .part."""
    try:
        publish_checkpoint(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@pytest.mark.parametrize("call", [1, 2])
def test_a_stop_at_each_rename_keeps_a_whole_checkpoint_of_the_step(tmp_path, monkeypatch, call):
    """Ctrl-C at the first or second rename of the swap. Before, the old checkpoint was removed first and the stop
    came before the new one's rename: --resume latest took checkpoint-0000001 (the step lost)."""
    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    _stopping_on(monkeypatch, "replace", call)
    with pytest.raises(KeyboardInterrupt):
        _publish_as_save_does(tmp, final)
    monkeypatch.undo()
    assert restore_set_aside(ckpts) == []  # put back at once, not at the next start
    assert [c.name for c in list_checkpoints(ckpts)] == ["checkpoint-0000001", "checkpoint-0000002"]
    assert _line(final) == "old" and sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001",
                                                                                   "checkpoint-0000002"]


def test_a_kill_between_the_renames_is_put_back_at_the_next_start(tmp_path, monkeypatch):
    """A kill (no rollback) after the old checkpoint was set aside, before the new one was renamed: the next start
    renames the set-aside one back, and --resume latest takes the step."""
    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    _stopping_on(monkeypatch, "replace", 2, dead=True)
    with pytest.raises(KeyboardInterrupt):
        publish_checkpoint(tmp, final)
    monkeypatch.undo()
    assert not final.exists() and (ckpts / ".checkpoint-0000002.old").is_dir()
    assert restore_set_aside(ckpts) == [final]
    assert list_checkpoints(ckpts)[-1] == final and _line(final) == "old"


def test_a_stop_while_the_set_aside_one_is_removed_leaves_the_new_one(tmp_path, monkeypatch):
    """A stop while the set-aside checkpoint is deleted (after the new one has the name): the new one is used; the
    part left of the old one is removed at the next start, or by the next save."""
    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    _stopping_on(monkeypatch, "unlink", 1)  # rmtree deletes the set-aside folder's files
    with pytest.raises(KeyboardInterrupt):
        publish_checkpoint(tmp, final)
    monkeypatch.undo()
    assert _line(final) == "new" and (ckpts / ".checkpoint-0000002.old").exists()
    assert restore_set_aside(ckpts) == []
    assert not (ckpts / ".checkpoint-0000002.old").exists() and _line(final) == "new"


def test_a_whole_swap_leaves_only_the_new_checkpoint(tmp_path):
    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    publish_checkpoint(tmp, final)
    assert _line(final) == "new" and sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001",
                                                                                   "checkpoint-0000002"]


def test_overwrite_removes_a_leftover_set_aside_checkpoint(tmp_path):
    """--overwrite deletes a run's checkpoint names, the set-aside ones (of a killed save) included."""
    ckpts = tmp_path / "run" / "checkpoints"
    _checkpoint(ckpts / ".checkpoint-0000002.old", 2, "old")
    _checkpoint(ckpts / ".checkpoint-0000002.1.old", 2, "older one left")  # named so when .old could not be removed
    remove_run_outputs(tmp_path / "run")
    assert not ckpts.exists()
    assert checkpoint_files.set_aside_path(ckpts / "checkpoint-0000002").name == ".checkpoint-0000002.old"
    assert checkpoint_files.set_aside_path(ckpts / "checkpoint-0000002", 1).name == ".checkpoint-0000002.1.old"


def _undeletable(monkeypatch, folder: Path) -> None:
    """``shutil.rmtree`` of ``folder`` fails part way, as for a file in it the run may not delete (chmod cannot
    show it here: the tests may run as root)."""
    real = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if Path(path) == folder:
            (Path(path) / "weights.bin").unlink()
            raise PermissionError(13, "Permission denied", str(Path(path) / "training_state.json"))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)


def test_a_set_aside_checkpoint_that_cannot_be_removed_leaves_the_save_done(tmp_path, monkeypatch):
    """The new checkpoint has its name when the set-aside one is removed: a failure there ended the run (an OSError
    out of TrainingRun.save after a saved checkpoint, older ones not pruned). Now a warning, and the run goes on."""
    from types import SimpleNamespace

    from genxd.training.loop import TrainingRun

    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    _undeletable(monkeypatch, ckpts / ".checkpoint-0000002.old")
    printed, pruned = [], []
    run = SimpleNamespace(print=printed.append, _replaced=[], _discard=lambda found: None,
                          _prune=lambda: pruned.append(True))
    TrainingRun._publish_checkpoint(run, tmp, final)
    assert _line(final) == "new" and pruned == [True]
    assert len(printed) == 1 and printed[0].startswith("warning: ") and ".checkpoint-0000002.old" in printed[0]
    assert "Permission denied" in printed[0] and "checkpoint-0000002 is saved" in printed[0]
    monkeypatch.undo()
    assert restore_set_aside(ckpts) == [] and not (ckpts / ".checkpoint-0000002.old").exists()
    assert [c.name for c in list_checkpoints(ckpts)] == ["checkpoint-0000001", "checkpoint-0000002"]


@pytest.mark.parametrize("main", [True, False], ids=["main", "other-process"])
def test_the_put_back_note_comes_once_from_the_process_that_put_it_back(tmp_path, monkeypatch, capsys, main):
    """Every process of an ``accelerate launch`` run looks for a set-aside checkpoint as it starts; one of them renames
    it back, whichever comes first. The note was printed by the main process only: when another process had put
    it back, no process said so."""
    from genxd.training.config import load_config
    from genxd.training.loop import TrainingRun

    from .conftest import QUIET, TINY

    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false"])
    ckpts = tmp_path / "run" / "checkpoints"
    _checkpoint(ckpts / ".checkpoint-0000002.old", 2, "old")  # a run killed between the renames
    monkeypatch.setattr(TrainingRun, "is_main", property(lambda self: main))
    run = TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "genxd",
                      resume="latest", cpu=True)
    assert run.resume_from == ckpts / "checkpoint-0000002" and _line(run.resume_from) == "old"
    err = capsys.readouterr().err
    assert err.count("was set aside by a run stopped while replacing it: put back") == 1, err


def test_a_set_aside_checkpoint_left_undeletable_does_not_block_a_later_save_of_its_step(tmp_path, monkeypatch):
    """A ``.checkpoint-0000002.old`` that could not be removed (a file in it the run may not delete) stays; a later
    save of step 2 (a run resumed before it again) set the checkpoint aside under that same name, and the rename
    failed ('Directory not empty'): the save, and the run, ended. Now it is set aside under a name of its own, with a
    warning naming the folder left; a stop or a kill in the swap still leaves a whole checkpoint of the step."""
    from types import SimpleNamespace

    from genxd.training.loop import TrainingRun

    ckpts = tmp_path / "checkpoints"
    tmp, final = _swap(ckpts)
    stuck = _checkpoint(ckpts / ".checkpoint-0000002.old", 2, "stuck")
    _undeletable(monkeypatch, stuck)
    printed, pruned = [], []
    run = SimpleNamespace(print=printed.append, _replaced=[], _discard=lambda found: None,
                          _prune=lambda: pruned.append(True))
    TrainingRun._publish_checkpoint(run, tmp, final)
    assert _line(final) == "new" and pruned == [True]
    assert len(printed) == 1 and printed[0].startswith("warning: ") and str(stuck) in printed[0], printed
    assert sorted(p.name for p in ckpts.iterdir()) == [".checkpoint-0000002.old", "checkpoint-0000001",
                                                       "checkpoint-0000002"]
    # a kill between the renames of the next save of step 2 (the stuck one still there): the checkpoint set aside
    # comes back at the next start, not the stuck one
    tmp = _checkpoint(ckpts / ".checkpoint-0000002.part", 2, "newer")
    _stopping_on(monkeypatch, "replace", 2, dead=True)
    with pytest.raises(KeyboardInterrupt):
        publish_checkpoint(tmp, final)
    monkeypatch.undo()
    shutil.rmtree(tmp)
    assert not final.exists()
    assert restore_set_aside(ckpts) == [final] and _line(final) == "new"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001", "checkpoint-0000002"]
