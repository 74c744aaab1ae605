"""The note an interrupted job carries (:func:`genxd.output_folders.noting_written`): how many outputs were written
and how to go on, from the command line and from Python."""

from __future__ import annotations

import contextlib
import shlex

import pytest

from genxd.cli.process_exit import Terminated
from genxd.output_folders import check_existing, noting_written
from genxd.utils.command_line import recorded


def _note(overwrite: bool, out, argv=None) -> str:
    with pytest.raises(Terminated) as info:
        with recorded(argv) if argv is not None else contextlib.nullcontext():
            with noting_written(lambda: 1, 3, out, overwrite=overwrite):
                raise Terminated()
    (note,) = info.value.__notes__
    return note


def test_an_overwrite_run_stopped_suggests_overwrite_again_not_skip_existing(tmp_path):
    """An --overwrite run stopped after scene a of a, b, c (each with a previous output): the note said to continue
    with --skip-existing (--overwrite dropped), which kept b and c's previous outputs as if made. It now gives the
    same command (--overwrite kept: all three made), and says a is made again."""
    out = tmp_path / "out"
    for name in "abc":
        (out / name).mkdir(parents=True)
    argv = ["generate", "a.png", "b.png", "c.png", "-o", str(out), "--overwrite"]
    note = _note(True, out, argv)
    command = note.split("run the same command: ")[1].split(" (")[0]
    assert shlex.split(command) == ["genxd", *argv]
    assert note == (f"1 of 3 scenes written in {out}; to continue, run the same command: {command} (it makes the 1 "
                    "written again too; --skip-existing would keep the previous outputs of the others)")
    folders = [out / n for n in "abc"]
    assert check_existing(folders, overwrite="--overwrite" in command, skip_existing="--skip-existing" in command) \
        == [0, 1, 2]


def test_an_overwrite_call_stopped_says_to_call_again_with_overwrite(tmp_path):
    """From Python (no command recorded) the note said ``make the same call again with skip_existing=True``, which
    contradicts overwrite=True (refused) and, without it, kept the previous outputs."""
    note = _note(True, tmp_path)
    assert note == (f"1 of 3 scenes written in {tmp_path}; to continue, make the same call again (overwrite=True "
                    "makes the 1 written again too; skip_existing=True would keep the previous outputs of the others)")


def test_a_run_without_overwrite_continues_with_skip_existing(tmp_path):
    argv = ["generate", "a.png", "b.png", "-o", str(tmp_path)]
    assert _note(False, tmp_path, argv).endswith(f"to continue, run: {shlex.join(['genxd', *argv, '--skip-existing'])}")
    assert _note(False, tmp_path).endswith("make the same call again with skip_existing=True")


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_stopped_launch_says_its_share_and_to_run_the_same_launch(tmp_path, monkeypatch, overwrite):
    """``accelerate launch --num_processes 2 -m genxd generate ...`` stopped by SIGTERM said ``genxd: terminated:
    process 0 of 2: 1 of 3 scenes written in OUT; to continue, run: genxd generate ... --skip-existing``: run as
    printed it went on in one process, and 3 read as the job's scenes (it is this process's share of 6). Now the
    count is the process's own and the command is to be run by the same launch."""
    from genxd.cli.process_exit import interruption

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    argv = ["generate", "a.png", "b.png", "-o", str(tmp_path), *(["--overwrite"] if overwrite else [])]
    stopped = Terminated()
    with pytest.raises(Terminated):
        with recorded(argv), noting_written(lambda: 1, 3, tmp_path, overwrite=overwrite):
            raise stopped
    line, code = interruption(stopped)
    command = shlex.join(["genxd", *argv] if overwrite else ["genxd", *argv, "--skip-existing"])
    assert line.startswith(f"genxd: terminated: process 0 of 2: 1 of this process's 3 scenes written in {tmp_path}; "
                           f"to continue, run the same launch with: {command}"), line
    assert code == 143
    monkeypatch.delenv("WORLD_SIZE")  # one process: as before
    assert _note(overwrite, tmp_path, argv).startswith(f"1 of 3 scenes written in {tmp_path}; to continue, run")


@pytest.mark.parametrize("count, pronoun", [(1, "it"), (2, "them")])
def test_existing_outputs_are_named_with_the_right_pronoun(tmp_path, count, pronoun):
    # before: 'output already exists: a and 1 more (pass overwrite=True to replace it, or skip_existing=True to keep it)'
    folders = [tmp_path / name for name in ("a", "b")]
    for folder in folders[:count]:
        folder.mkdir()
    more = " and 1 more" if count == 2 else ""
    with pytest.raises(FileExistsError) as raised:
        check_existing(folders, overwrite=False, skip_existing=False)
    assert str(raised.value) == (f"output already exists: {folders[0]}{more} (pass overwrite=True to replace {pronoun}, "
                                 f"or skip_existing=True to keep {pronoun})")
