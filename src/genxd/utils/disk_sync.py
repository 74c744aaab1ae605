"""Flushing a finished output to disk before it is renamed into place (``fsync``).

A rename is atomic against a crash of the process, not against a power loss: the file system may commit the rename
before the data of the files renamed, so that after a power cut a folder under its final name holds empty or
truncated files. Flushing every file and folder of the output first, and the folder that receives it after the
rename, makes "there under its final name" mean "complete on disk" (the order :mod:`genxd.utils.file_groups` keeps
for groups of files).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

__all__ = ["fsync_file", "fsync_folder", "fsync_tree"]

#: errnos of an fsync that the file system does not do (a FUSE or special file system): nothing to flush there
_NOT_SUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


def fsync_file(path: str | os.PathLike) -> None:
    """Flush the file ``path``'s data to disk. An error writing it (``EIO``; a full disk or quota, which a network
    file system may report only now) is raised: the file is not complete on disk; a file system that has no fsync
    is passed over."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NOT_SUPPORTED:
            raise
    finally:
        os.close(fd)


def fsync_folder(path: str | os.PathLike) -> None:
    """Flush the folder ``path``'s entries (the names of the files made, renamed or removed in it) to disk; where a
    platform or file system cannot open or flush a folder (Windows, no ``O_DIRECTORY``), nothing."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(folder: str | os.PathLike[str]) -> None:
    """Flush every file under ``folder``, then every folder, the deepest first and ``folder`` last (links are not
    followed; :func:`fsync_file` and :func:`fsync_folder` say which errors are raised)."""
    for here, _, files in os.walk(os.fspath(folder), topdown=False):
        for name in files:
            path = Path(here) / name
            if not path.is_symlink():
                fsync_file(path)
        fsync_folder(here)
