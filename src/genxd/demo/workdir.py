"""The demo server's temporary folder, and the folders of servers that were killed before they could remove
theirs (``kill -9``, a crash, a lost container).

A live server holds an exclusive ``flock`` on ``<folder>/.lock`` for as long as it runs; the kernel drops the
lock when the process dies, however it dies. At start, a server removes every ``genxd-demo-*`` folder of the
same user in the same temporary directory whose lock it can take, i.e. whose server is gone. The lock is held
through the kernel, so a server in another PID namespace (a container sharing ``/tmp``) still counts as alive;
folders without a lock file (made by an older genxd) are left alone. Where ``fcntl`` does not exist (Windows)
nothing is cleaned.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import types
from pathlib import Path
from typing import IO

fcntl: types.ModuleType | None
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["PREFIX", "LOCK_NAME", "make_workdir", "remove_stale_workdirs", "folder_bytes"]

PREFIX = "genxd-demo-"
LOCK_NAME = ".lock"


def make_workdir(parent: str | Path | None = None) -> tuple[Path, IO | None]:
    """A new private folder (``tempfile.mkdtemp``, mode 0700) and the open lock file that marks it as in use:
    keep the file object open for the server's life (closing it, or the process ending, releases the lock)."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    if fcntl is None:
        return root, None
    handle = open(root / (LOCK_NAME + ".new"), "w")  # noqa: SIM115 - held open on purpose
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    os.replace(root / (LOCK_NAME + ".new"), root / LOCK_NAME)  # appears already locked (the lock is the inode's)
    return root, handle


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links neither counted nor followed; 0 when it does not exist);
    files that vanish meanwhile are skipped."""
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def remove_stale_workdirs(parent: str | Path | None = None, keep: Path | None = None) -> tuple[int, int]:
    """Remove the folders of demo servers that are no longer running (see the module docstring), except
    ``keep``. Returns ``(folders removed, bytes freed)``; folders that cannot be inspected are skipped."""
    if fcntl is None:
        return 0, 0
    parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    removed = freed = 0
    uid = os.getuid()
    for folder in sorted(parent.glob(PREFIX + "*")):
        try:
            if keep is not None and folder.resolve() == keep.resolve():
                continue
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != uid:
                continue
            lock = folder / LOCK_NAME
            if lock.is_symlink() or not lock.is_file():
                continue  # not made by make_workdir: leave it
            with open(lock, "r+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its server is running
                size = folder_bytes(folder)
                shutil.rmtree(folder)  # while holding the lock: a server starting now cannot take it
        except OSError:
            continue
        removed += 1
        freed += size
    return removed, freed
