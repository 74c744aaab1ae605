"""A standard error the caller closed (``genxd ... 2>&-``) made harmless before the command starts.

Python leaves ``sys.stderr`` None when file descriptor 2 is closed, and the first file the command opens then
takes descriptor 2, so that whatever a library writes to it (a C library's warning, a child process's log) lands in
that file. Started through a shell-script launcher (pyenv's shims, a wrapper of one's own), descriptor 2 is instead
the script itself, open for reading: every ``genxd: error:`` line then failed with "Bad file descriptor" and a usage
error (exit code 2) ended with exit code 1. Either way descriptor 2 is pointed at ``os.devnull`` (what the caller
asked for: nothing said) and ``sys.stderr`` written there, so exit codes are the documented ones.
"""

from __future__ import annotations

import os
import sys

__all__ = ["discard_closed_stderr", "stderr_writable"]


def stderr_writable() -> bool:
    """Whether file descriptor 2 is open for writing."""
    import fcntl

    try:
        return fcntl.fcntl(2, fcntl.F_GETFL) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
    except OSError:  # closed
        return False


def discard_closed_stderr() -> None:
    """Point descriptor 2 and ``sys.stderr`` at ``os.devnull`` when descriptor 2 is closed or not writable."""
    if os.name != "posix" or stderr_writable():
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != 2:  # 2 is open (read-only): replaced; closed: os.open took it
        os.dup2(devnull, 2)
        os.close(devnull)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
