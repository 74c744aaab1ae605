"""TensorBoard's event file on a full disk or a read-only folder: one line naming the log folder.

TensorBoard writes from a thread of its own. On a full disk that thread died with a traceback
(``Exception in thread Thread-1: ... OSError: [Errno 28] No space left on device``, printed by Python's
thread hook, before or after genxd's line, sometimes cut off mid-line at exit) and the writer raised the same
error, naming no file, at its next call from the training loop. The thread's traceback is not printed here (the
writer raises the error again from the training loop, which stops the run); the error from the training loop
names the log folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

from ..utils.io import error_while_writing, is_environment_error

__all__ = ["quiet_writer_thread", "writing_log"]

def _tensorboard_writer(thread: threading.Thread | None) -> bool:
    kind = type(thread)
    return kind.__name__ == "_AsyncWriterThread" and kind.__module__.startswith("tensorboard.")


def quiet_writer_thread() -> None:
    """Put a :func:`threading.excepthook` in front of the current one (unless it is there already) that does not
    print the traceback of TensorBoard's writer thread ending on an environment error
    (:func:`genxd.utils.io.is_environment_error`): the writer raises it again at its next call. Every other
    thread's error goes to the hook that was there before."""
    previous = threading.excepthook
    if getattr(previous, "_genxd_quiet_writer", False):
        return

    def hook(args: Any) -> None:
        if _tensorboard_writer(args.thread) and is_environment_error(args.exc_value):
            return
        previous(args)

    hook._genxd_quiet_writer = True  # type: ignore[attr-defined]
    threading.excepthook = hook


@contextlib.contextmanager
def writing_log(folder: str | os.PathLike, closing: bool = False) -> Iterator[None]:
    """Around a call that writes the TensorBoard log in ``folder``: an environment error naming no file is raised
    naming ``folder``. ``closing``: the closing flush when the run is already stopping for an error (called from
    a ``finally``): its environment error is dropped, so that the error that stopped the run is the one shown."""
    stopping = closing and sys.exc_info()[1] is not None
    try:
        yield
    except OSError as exc:
        if not is_environment_error(exc) or exc.errno is None:  # an environment error has an errno
            raise
        if stopping:
            return
        if exc.filename:
            raise
        raise error_while_writing(exc.errno, f"the TensorBoard log in {Path(folder)}", exc.strerror) from exc
