"""Machine-wide exclusive locks on a file (``fcntl.flock``), where the platform and file system have them."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

__all__ = ["exclusive_lock", "locked_or_none"]


def locked_or_none(path: str | os.PathLike) -> int | None:
    """A descriptor of ``path`` holding an exclusive ``flock`` (waits for it), or None where no lock can be had
    (no ``fcntl``: Windows; the file cannot be opened; a file system without locks). Closing it releases the lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold :func:`locked_or_none`'s lock on ``path`` for the block (the block runs unlocked where none can be had)."""
    fd = locked_or_none(path)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)
