"""One training run at a time in a run folder: ``genxd train`` / ``train-vae`` hold an exclusive ``flock`` on
``OUTPUT_DIR/.genxd-train.lock`` from the moment they change the folder until they end.

Two runs started on one folder used to interleave their ``metrics.jsonl`` rows (each step twice), delete each
other's unfinished ``.checkpoint-N.part`` folder and both end in a traceback. The lock is the kernel's: it goes with
the process (``kill -9`` included), so a lock file left behind is never stale; the file itself stays (deleting a
locked file would let a third run lock a new file beside the held one). Where the file system has no locks (an
NFS mount without its lock service) or the platform has no ``fcntl`` (Windows), the run goes on unlocked, with a
warning on the file system's case.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import IO

__all__ = ["LOCK_NAME", "RunFolderInUseError", "RunFolderLock", "in_use_error"]

LOCK_NAME = ".genxd-train.lock"

#: How long a run waits for the lock when it starts writing: another run's :func:`in_use_error` holds a shared lock
#: for an instant; a run holding it for good is refused at once after this.
_WAIT_S = 2.0


class RunFolderInUseError(FileExistsError):
    """Another training run holds the run folder (one line, exit code 2 on the command line)."""


def _holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it (``process PID on HOST``), or ``''``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    fields = text.split()
    if len(fields) == 2 and fields[0].isdigit():
        return f" (process {fields[0]} on {fields[1]})"
    return ""


def _error(output_dir: Path, lock: Path) -> RunFolderInUseError:
    return RunFolderInUseError(
        f"output_dir {output_dir} is in use by another training run{_holder(lock)}: wait for it to end, or give "
        "another output_dir (two runs in one folder mix their checkpoints and metrics.jsonl)")


def in_use_error(output_dir: str | os.PathLike) -> RunFolderInUseError | None:
    """The error for a run folder another run holds now, else None. Changes nothing (the lock file is not made)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    lock = Path(output_dir) / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:  # no folder or no lock file: no run holds it
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _error(Path(output_dir), lock)
    except OSError:  # no locks on this file system: said by the run when it starts writing
        return None
    finally:
        os.close(fd)
    return None


class RunFolderLock:
    """The run folder's lock, held from :meth:`acquire` to :meth:`release` (or the process's end)."""

    def __init__(self, output_dir: str | os.PathLike) -> None:
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / LOCK_NAME
        self._file: IO[str] | None = None  # closing it (also when collected) releases the lock

    def acquire(self) -> str | None:
        """Take the lock (the folder is made); raises :class:`RunFolderInUseError` when another run holds it.
        Returns a warning to print where the file system has no locks (the run goes on unlocked), else None."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + _WAIT_S
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise _error(self.output_dir, self.path) from None
                time.sleep(0.05)
            except OSError as exc:  # ENOLCK (NFS without lockd), EOPNOTSUPP, ENOSYS: no locks here
                handle.close()
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise
                return (f"cannot lock {self.path} ({exc.strerror or type(exc).__name__}): the file system has no "
                        "file locks, so nothing stops a second training run writing to this output_dir at the "
                        "same time; run one at a time there")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return None

    def release(self) -> None:
        """Let the lock go (safe to call twice, or without :meth:`acquire`)."""
        if self._file is not None:
            import fcntl  # held: it was imported

            try:  # unlocked first: a DataLoader worker forked meanwhile shares the descriptor and would keep it
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            except OSError:
                pass  # closing releases it where no other process shares it
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None
