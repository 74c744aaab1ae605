"""Whether a folder is a mount point: an output written whole is renamed onto its path (:func:`genxd.utils.io.atomic_dir`),
and a mount point cannot be renamed over ("Device or resource busy"), so ``--out /data`` of a Docker volume
(``docker run -v ./recon:/data``) failed after all the work."""

from __future__ import annotations

import os
import re

__all__ = ["MOUNT_INFO", "is_mount_point"]

#: Linux's table of this process's mounts (field 5 of each line: the mount point, spaces and the like as ``\\040``):
#: it also lists a bind mount of a folder of the same file system, which :func:`os.path.ismount` cannot tell.
MOUNT_INFO = "/proc/self/mountinfo"

_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


def _mount_points() -> set[bytes]:
    """The mount points :data:`MOUNT_INFO` lists (bytes, as the kernel gives the path); none where it is missing."""
    try:
        with open(MOUNT_INFO, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    fields = (line.split(b" ") for line in lines)
    return {_OCTAL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), f[4]) for f in fields if len(f) > 4}


def is_mount_point(path: str | os.PathLike) -> bool:
    """True when ``path`` (its links followed) is a folder something is mounted on: another file system, or a bind
    mount (:data:`MOUNT_INFO`, on Linux)."""
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        return False
    return os.path.ismount(real) or os.fsencode(real) in _mount_points()
