"""File names as the command line shows them: bytes that are not UTF-8 as ``\\xff``, control characters escaped.

A file name is bytes; Python reads one that is not UTF-8 (``b'\\xff.png'``, from another system's encoding) with a
surrogate for each such byte (``'\\udcff.png'``). Written to the terminal, that became ``?`` (click's replacement
on an ASCII terminal: ``PYTHONIOENCODING=ascii``), ``\\udcff`` (Python's on stderr) or the raw byte (stdout under
``LC_ALL=C``), so the user could not tell which file was meant, and each stream said it differently. genxd's
streams write each such byte as ``\\xNN`` (:func:`escape_streams`, an error handler on ``sys.stdout`` and
``sys.stderr``; a library's repr of the name, ``'\\udcff'``, is shown so too: :func:`shown`), and the paths a
command prints one a line (``-q``) escape their control characters (:func:`printed_path`): a folder named
``a<newline>b`` is one line ``a\\nb``, not two paths.
"""

from __future__ import annotations

import codecs
import os
import re
import sys

from ..utils.messages import breaks_line

__all__ = ["ESCAPE", "escape_streams", "escaped_controls", "printed_path", "shown"]

#: the error handler's name: unencodable characters as escapes, a non-UTF-8 byte of a file name as ``\xNN``
ESCAPE = "genxd-escape"

_SURROGATE_REPR = re.compile(r"\\udc([89a-fA-F][0-9a-fA-F])")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape): the byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_error(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(_escape_char(c) for c in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(ESCAPE, _escape_error)


def shown(text: str) -> str:
    """``text`` for a message line: a non-UTF-8 byte of a file name as ``\\xNN``, also where a library quoted the
    name (``'\\udcff.png'`` in its repr)."""
    text = _SURROGATE_REPR.sub(lambda m: "\\x" + m.group(1).lower(), text)
    return "".join(_escape_char(c) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)


def printed_path(path: str | os.PathLike) -> str:
    """A path printed one a line (stdout, ``-q``): :func:`shown`, and its control characters and line separators
    escaped (``\\n``, ``\\t``, ``\\x1b``), so that it stays one line."""
    return escaped_controls(shown(os.fspath(path)))


def escaped_controls(text: str) -> str:
    """``text`` with its control characters and line separators escaped (``\\n``, ``\\t``, ``\\x1b``): a file
    name holding a terminal's escape sequence is shown, not obeyed."""
    return "".join((_NAMED.get(c) or _escape_char(c)) if breaks_line(c) else c for c in text)


def escape_streams() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` write what they cannot encode as escapes (:data:`ESCAPE`); one that
    says ASCII writes UTF-8, as click (which prints genxd's lines) does to such a stream."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:  # closed (None), or replaced by something that is not a text file
            continue
        try:
            ascii_only = codecs.lookup(stream.encoding or "ascii").name == "ascii"
            stream.flush()
            reconfigure(errors=ESCAPE, **({"encoding": "utf-8"} if ascii_only else {}))
        except (LookupError, OSError, ValueError):  # an unknown encoding, a stream already closed: left as it is
            continue
