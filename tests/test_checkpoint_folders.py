"""genxd.checkpoint_folders: where ``--model`` finds a checkpoint."""

from __future__ import annotations

import pytest

from genxd.checkpoint_folders import COMPONENTS, resolve_checkpoint


def _checkpoint(folder):
    for component in COMPONENTS:
        (folder / component).mkdir(parents=True)
    return folder


def test_a_training_runs_latest_is_its_newest_checkpoint(tmp_path):
    """``--model RUN/checkpoints/latest`` was refused ("no GenXD checkpoint"), while a training config takes that
    name for ``model.vae.pretrained`` (found by the second newcomer run): it is the newest ``checkpoint-*``."""
    checkpoints = tmp_path / "run" / "checkpoints"
    _checkpoint(checkpoints / "checkpoint-0000010")
    newest = _checkpoint(checkpoints / "checkpoint-0000020")
    (checkpoints / "checkpoint-0000030.part").mkdir()  # a checkpoint still being written is not one
    assert resolve_checkpoint(checkpoints / "latest") == newest
    assert resolve_checkpoint(str(checkpoints / "latest")) == newest
    with pytest.raises(FileNotFoundError, match=r"empty: no checkpoint-\* folder to use as 'latest'"):
        (tmp_path / "empty").mkdir()
        resolve_checkpoint(tmp_path / "empty" / "latest")


def test_a_folder_named_latest_is_taken_as_it_is(tmp_path):
    folder = _checkpoint(tmp_path / "checkpoints" / "latest")
    _checkpoint(tmp_path / "checkpoints" / "checkpoint-0000099")
    assert resolve_checkpoint(folder) == folder


def test_latest_orders_checkpoints_by_step_not_by_name(tmp_path):
    """Sorted by name, ``checkpoint-10000000`` (past training's 7-digit padding) came before ``checkpoint-9999999``
    and ``checkpoint-500`` (a folder renamed by hand) after ``checkpoint-0001000``."""
    from genxd.training.checkpoint_files import list_checkpoints

    checkpoints = tmp_path / "run" / "checkpoints"
    for name in ("checkpoint-0001000", "checkpoint-500", "checkpoint-9999999", "checkpoint-10000000"):
        _checkpoint(checkpoints / name)
        (checkpoints / name / "training_state.json").write_text("{}")
    assert resolve_checkpoint(checkpoints / "latest").name == "checkpoint-10000000"
    assert [p.name for p in list_checkpoints(checkpoints)] == [
        "checkpoint-500", "checkpoint-0001000", "checkpoint-9999999", "checkpoint-10000000"]
