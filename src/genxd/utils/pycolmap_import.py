"""Importing pycolmap without losing the process's SIGTERM handling.

pycolmap's first import installs glog's failure signal handler at the C level, SIGTERM among its signals
(measured with pycolmap 3.11-3.13): from then on a ``kill`` (``docker stop``, ``systemctl stop``, a job
scheduler's time limit) no longer reaches Python's handler. The process prints a C stack trace and aborts, so
``finally`` blocks and cleanup never run: ``genxd demo`` left its temporary folder, uploads included, behind
after a "from a video" camera path had run SfM.

:func:`load_pycolmap` imports it and puts back whatever Python had for SIGTERM (its own handler or the
default). Signal handlers can only be set from the main thread, so a process that may first need pycolmap in
another thread (the demo's jobs) calls it from the main thread at start-up.

It also turns off glog's log files. glog writes every message it logs into files in the temporary folder
(``/tmp/<program>.<host>.<user>.log.INFO.<date>.<pid>``, one set per process), and pycolmap 4's bundle adjustment
logs its heading at INFO level whatever ``pycolmap.logging.minloglevel`` says: one ``genxd eval --modes camera-3d``
left a file there, and test runs and curations pile them up (found by the second newcomer run: 471 such files in
this machine's /tmp, 343 of them INFO).
Messages meant for the user still reach stderr as :func:`genxd.curation.sfm._silence_colmap` sets it.
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
    _no_log_files(pycolmap)
    return pycolmap


def _no_log_files(pycolmap: ModuleType) -> None:
    """An empty file name for every severity: glog then writes no log file (stderr is left as it is)."""
    logging = getattr(pycolmap, "logging", None)
    if logging is None or not hasattr(logging, "set_log_destination"):  # an older pycolmap
        return
    for level in ("INFO", "WARNING", "ERROR", "FATAL"):
        if hasattr(logging, level):
            logging.set_log_destination(getattr(logging, level), "")
