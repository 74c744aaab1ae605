"""How much room a write has: a full disk or a user's quota, told from the error a writer raised (its errno, or
the words of a library that raises no OSError) or from the file system's free space."""

from __future__ import annotations

import errno
import os
import shutil


def disk_full(path: str | os.PathLike, slack: int = 1 << 20) -> bool:
    """True when the file system holding ``path`` has less than ``slack`` bytes left for this process (the space
    reserved for root counts when running as root): how a writer that reports a full disk without its errno
    (torch.save: "iostream error", "unexpected pos") is told from a bug. Where ``os.statvfs`` is missing
    (Windows), :func:`shutil.disk_usage`'s free space."""
    try:
        if not hasattr(os, "statvfs"):
            return shutil.disk_usage(path).free < slack
        st = os.statvfs(path)
    except OSError:
        return False
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return blocks * st.f_frsize < slack


#: How libraries that raise no OSError word the two ways a write runs out of room (safetensors: "Error while
#: serializing: IoError(Os { code: 122, kind: FilesystemQuotaExceeded, message: \"Disk quota exceeded\" })").
_OUT_OF_SPACE_TEXTS = ((errno.ENOSPC, ("No space left on device", "StorageFull")),
                       (errno.EDQUOT, ("Disk quota exceeded", "FilesystemQuotaExceeded")))


def out_of_space(exc: BaseException, path: str | os.PathLike | None = None) -> int | None:
    """``errno.ENOSPC`` or ``errno.EDQUOT`` when ``exc`` is a write that ran out of room, a full disk or a user's
    disk quota: its errno, or the words a library puts in its own error; with ``path``, also a disk with less than
    1 MiB left there (:func:`disk_full`: torch.save says neither). ``None`` otherwise. A quota is invisible to
    :func:`disk_full` (the disk has room, the user has not), so only its words tell it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return exc.errno
    text = str(exc)
    for code, words in _OUT_OF_SPACE_TEXTS:
        if any(w in text for w in words):
            return code
    return errno.ENOSPC if path is not None and disk_full(path) else None


__all__ = ["disk_full", "out_of_space"]
