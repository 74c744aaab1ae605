"""Text kept to one line: the first line of an exception, for messages that quote a library's error
(``... (KeyError: 'cameras')``), the characters that would break a printed line (:func:`breaks_line`), and a note
added to an exception on any Python genxd supports (:func:`add_note`)."""

from __future__ import annotations

import unicodedata

__all__ = ["add_note", "breaks_line", "first_line"]

# BaseException.add_note came with Python 3.11; genxd supports 3.10 (requires-python), where calling it raised
# AttributeError inside the handler of a Ctrl-C or SIGTERM and replaced 'genxd: interrupted: ...' with a traceback
_HAS_ADD_NOTE = hasattr(BaseException, "add_note")


def breaks_line(c: str) -> bool:
    """Whether character ``c`` is a control character (C0, DEL, C1: ``\\n``, ``\\x1b``, ``\\x9b``, a terminal's
    escape) or a line / paragraph separator (``U+2028``, ``U+2029``): one that a name printed on one line escapes
    or replaces."""
    return unicodedata.category(c) in ("Cc", "Zl", "Zp")


def first_line(exc: BaseException, *, with_type: bool = False, limit: int | None = None) -> str:
    """The first non-empty line of ``exc``'s message (the type's name when it has none), ``Type: line`` with
    ``with_type``, cut to ``limit`` characters (ending in ``...``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    name = type(exc).__name__
    line = (f"{name}: {lines[0]}" if with_type else lines[0]) if lines else name
    if limit is not None and len(line) > limit:
        line = line[:max(0, limit - 3)] + "..."
    return line


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``: ``note`` appended to ``exc.__notes__``, which genxd's messages read (e.g.
    :func:`genxd.cli.process_exit.interruption`). On Python 3.10, which has no ``add_note``, the same list is kept
    by hand (that Python's traceback does not print it; genxd's one-line messages still do)."""
    if _HAS_ADD_NOTE:
        exc.add_note(note)
        return
    if not isinstance(note, str):
        raise TypeError(f"note must be a str, not {type(note).__name__}")
    notes = getattr(exc, "__notes__", None)
    if not isinstance(notes, list):
        notes = []
        exc.__notes__ = notes
    notes.append(note)
