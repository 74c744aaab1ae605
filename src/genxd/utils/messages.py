"""One line from an exception, for messages that quote a library's error (``... (KeyError: 'cameras')``)."""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(exc: BaseException, *, with_type: bool = False, limit: int | None = None) -> str:
    """The first non-empty line of ``exc``'s message (the type's name when it has none), ``Type: line`` with
    ``with_type``, cut to ``limit`` characters (ending in ``...``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    name = type(exc).__name__
    line = (f"{name}: {lines[0]}" if with_type else lines[0]) if lines else name
    if limit is not None and len(line) > limit:
        line = line[:max(0, limit - 3)] + "..."
    return line
