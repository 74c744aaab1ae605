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
