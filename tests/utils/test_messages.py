"""``genxd.utils.messages``: what a one-line message quotes of a library's error (``first_line``), and the notes
an interrupted run carries on any Python genxd supports (``add_note``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import genxd
from genxd.cli.process_exit import Terminated, interruption
from genxd.output_folders import noting_written
from genxd.utils import messages
from genxd.utils.messages import add_note, first_line

SRC = Path(genxd.__file__).resolve().parent


def test_the_first_non_empty_line_with_or_without_the_type():
    exc = ValueError("\n  bad header  \nmore detail")
    assert first_line(exc) == "bad header"
    assert first_line(exc, with_type=True) == "ValueError: bad header"


def test_an_empty_message_gives_the_type_and_a_long_one_is_cut():
    assert first_line(RuntimeError()) == "RuntimeError"
    assert first_line(RuntimeError(), with_type=True) == "RuntimeError"
    line = first_line(ValueError("x" * 500), limit=20)
    assert line == "x" * 17 + "..." and len(line) == 20


# --- add_note: Python 3.10 (requires-python) has no BaseException.add_note ---------------------------------------


@pytest.mark.parametrize("native", [
    pytest.param(True, id="add_note", marks=pytest.mark.skipif(not hasattr(BaseException, "add_note"),
                                                               reason="Python 3.10: no BaseException.add_note")),
    pytest.param(False, id="python-3.10")])
def test_a_stopped_run_says_what_it_wrote_with_or_without_baseexception_add_note(tmp_path, monkeypatch, native):
    """On Python 3.10 an interrupted run that had written 1 of 3 scenes (or kept a long path's windows) crashed in
    its Ctrl-C / SIGTERM handler: ``exc.add_note`` is Python 3.11's, so AttributeError replaced ``genxd: terminated:
    1 of 3 scenes written ...`` (exit 143) with a traceback (tests/test_output_folders.py failed there). Without
    add_note the same notes are kept and the same line is said."""
    monkeypatch.setattr(messages, "_HAS_ADD_NOTE", native)
    with pytest.raises(Terminated) as info:
        with noting_written(lambda: 1, 3, tmp_path, overwrite=False):
            raise Terminated()
    note = f"1 of 3 scenes written in {tmp_path}; to continue, make the same call again with skip_existing=True"
    assert info.value.__notes__ == [note]
    assert interruption(info.value) == (f"genxd: terminated: {note}", 143)
    add_note(info.value, "second")
    assert info.value.__notes__ == [note, "second"]
    with pytest.raises(TypeError):
        add_note(KeyboardInterrupt(), 3)


def test_genxd_calls_add_note_through_its_helper_only():
    """A guard that runs on any Python (CI's is 3.11, where exc.add_note exists): no module of genxd calls
    ``.add_note(`` but :func:`genxd.utils.messages.add_note` itself. (vermin, which checks minimum versions, does
    not see a method of an exception.)"""
    callers = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_note":
                callers.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert [c.split(":")[0] for c in callers] == ["utils/messages.py"], callers  # the helper's own call
