"""A standard output or error the caller closed (``genxd ... >&-``, ``2>&-``) made harmless before the command starts.

Python leaves ``sys.stdout`` / ``sys.stderr`` None when file descriptor 1 / 2 is closed, and the first file the
command opens then takes that descriptor, so that whatever a library or a child process writes to its standard
output or error (a C library's warning, a child process's log) lands in that file. Started through a shell-script
launcher (pyenv's shims, a wrapper of one's own), descriptor 2 is instead the script itself, open for reading:
every ``genxd: error:`` line then failed with "Bad file descriptor" and a usage error (exit code 2) ended with exit
code 1. A closed descriptor (either) and a read-only descriptor 2 are pointed at ``os.devnull`` (what the caller
asked for: nothing said) and the Python stream written there, so exit codes are the documented ones.

A read-only descriptor 1 (``genxd info 1<file``) is no request for silence but output that cannot be written, as
``genxd info > /dev/full``: :func:`stdout_read_only` lets the entry point refuse it in one line (exit code 2)
before the command runs, instead of a traceback at the first line printed.
"""

from __future__ import annotations

import os
import sys

__all__ = ["discard_closed_streams", "descriptor_writable", "point_at_devnull", "stdout_read_only"]


def _access_mode(fd: int) -> int | None:
    """The descriptor's access mode (``os.O_RDONLY`` ...), None when it is closed."""
    import fcntl

    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:  # closed
        return None


def descriptor_writable(fd: int) -> bool:
    """Whether file descriptor ``fd`` is open for writing."""
    return _access_mode(fd) in (os.O_WRONLY, os.O_RDWR)


def stdout_read_only() -> bool:
    """Whether descriptor 1 is open but not for writing (``1<file``); False off POSIX."""
    return os.name == "posix" and _access_mode(1) == os.O_RDONLY


def point_at_devnull(fd: int) -> None:
    """Point file descriptor ``fd`` (open, or closed) at ``os.devnull``, for writing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != fd:  # fd is open (read-only): replaced; closed: os.open took it
        os.dup2(devnull, fd)
        os.close(devnull)


def discard_closed_streams() -> None:
    """Point a closed descriptor 1 or 2, or a read-only descriptor 2, at ``os.devnull``, and the matching
    ``sys.stdout`` / ``sys.stderr`` there (descriptor 1 first: when both are closed it is the lowest free one)."""
    if os.name != "posix":
        return
    if _access_mode(1) is None:
        point_at_devnull(1)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # its error handler: escape_streams, next
    if not descriptor_writable(2):
        point_at_devnull(2)
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)
