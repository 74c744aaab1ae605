"""genxd.utils.shared_work: how the processes of a launch are named in bars and lines, the same way everywhere."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from genxd.cli.common import fail
from genxd.pipelines.distributed import ProcessGroup, failed_result
from genxd.utils.shared_work import OtherProcessFailed, mark_work_shared, process_label, raise_for_failed, \
    reset_work_shared


def _group(index: int, count: int) -> ProcessGroup:
    """A ProcessGroup as launched: ``state`` stands for accelerate's PartialState (its two fields read here)."""
    group = ProcessGroup("cpu")
    group.state = SimpleNamespace(process_index=index, num_processes=count)
    return group


def test_process_label_names_one_or_several_processes():
    assert process_label(1, 2) == "process 1 of 2"
    assert process_label([3], 4) == "process 3 of 4"
    assert process_label([0, 2], 4) == "processes 0, 2 of 4"


def test_a_bar_over_a_share_names_the_process_and_one_process_is_not_named(monkeypatch):
    for var in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert ProcessGroup("cpu").label("groups") == "groups"
    assert _group(0, 2).label("groups") == "groups (process 0 of 2)"


def test_lines_of_a_process_name_it_as_the_bars_do(monkeypatch, capsys):
    """Found by the multi-process audit: generate's bar said ``process 0 of 2``, few-shot's bar nothing, the error
    lines ``process 1``; now all of them come from process_label."""
    failed_result(0, "a.png", "o/a", RuntimeError("boom"), 1, 2)
    assert capsys.readouterr().err.splitlines()[0] == "genxd: process 1 of 2: a.png failed:"
    failed_result(0, "a.png", "o/a", RuntimeError("boom"), 0)
    assert capsys.readouterr().err.splitlines()[0] == "genxd: a.png failed:"  # one process: no process to name

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    mark_work_shared()
    try:
        fail("b.png: cannot read image")
    finally:
        reset_work_shared()
    assert capsys.readouterr().err == "genxd: error: process 1 of 2: b.png: cannot read image\n"

    with pytest.raises(OtherProcessFailed, match="^processes 1, 2 of 3 failed$"):
        raise_for_failed(None, [1, 2], 3)
