"""Text kept to one line: the first line of an exception, for messages that quote a library's error
(``... (KeyError: 'cameras')``), and the characters that would break a printed line (:func:`breaks_line`)."""

from __future__ import annotations

import unicodedata

__all__ = ["breaks_line", "first_line"]


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
