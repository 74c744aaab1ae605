"""The command a message tells the user to run again (:func:`genxd.utils.command_line.rerun_command`)."""

from __future__ import annotations

import shlex

from genxd.utils.command_line import recorded, rerun_command


def test_flags_are_added_and_dropped_before_a_double_dash():
    """``genxd generate -o out -- -a.png -b.png`` (inputs named like flags): --skip-existing was appended after the
    ``--``, where it is read as a third input; now it goes before it, and a flag-like input is never dropped."""
    with recorded(["generate", "-o", "out", "--overwrite", "--", "-a.png", "--overwrite", "--skip-existing"]):
        command = rerun_command(add=("--skip-existing",), drop=("--overwrite",))
    assert shlex.split(command) == ["genxd", "generate", "-o", "out", "--skip-existing", "--", "-a.png",
                                    "--overwrite", "--skip-existing"]


def test_flags_are_appended_without_a_double_dash():
    with recorded(["generate", "a.png", "--skip-existing"]):
        assert rerun_command(add=("--skip-existing",)) == "genxd generate a.png --skip-existing"
        assert rerun_command(add=("--quiet",), drop=("--skip-existing",)) == "genxd generate a.png --quiet"
    assert rerun_command(add=("--quiet",)) is None


def test_a_process_of_a_launch_is_told_to_run_the_same_launch(monkeypatch):
    """A command run alone from a process of ``accelerate launch`` (it sets ``WORLD_SIZE``) goes on in one process
    (a long path's "to continue, run: genxd generate ..."): the hint says to run it by the same launch."""
    from genxd.utils.command_line import run_hint

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert run_hint("genxd generate a.png") == "run: genxd generate a.png"
    assert run_hint("genxd generate a.png", same=True) == "run the same command: genxd generate a.png"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert run_hint("genxd generate a.png") == "run the same launch with: genxd generate a.png"
