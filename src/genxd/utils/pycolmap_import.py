"""Importing pycolmap without losing the process's SIGTERM handling.

pycolmap's first import installs glog's failure signal handler at the C level, SIGTERM among its signals
(measured with pycolmap 3.11-3.13): from then on a ``kill`` (``docker stop``, ``systemctl stop``, a job
scheduler's time limit) no longer reaches Python's handler. The process prints a C stack trace and aborts, so
``finally`` blocks and cleanup never run: ``genxd demo`` left its temporary folder, uploads included, behind
after a "from a video" camera path had run SfM.

:func:`load_pycolmap` imports it and puts back whatever Python had for SIGTERM (its own handler or the
default). Signal handlers can only be set from the main thread, so a process that may first need pycolmap in
another thread (the demo's jobs) calls it from the main thread at start-up.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import ModuleType

__all__ = ["load_pycolmap"]


def load_pycolmap() -> ModuleType:
    """``import pycolmap``, keeping this process's SIGTERM handler (ImportError when it is not installed)."""
    module = sys.modules.get("pycolmap")
    if module is not None:
        return module
    in_main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if in_main else None
    import pycolmap

    if in_main and before is not None:
        signal.signal(signal.SIGTERM, before)  # re-installs Python's C-level handler over glog's
    return pycolmap
