"""Ctrl-C in the command's first instant, before :func:`genxd.cli.main` handles it.

``genxd.cli.main`` turns a ``KeyboardInterrupt`` into one line ``genxd: interrupted`` and exit code 130 from its
``try`` on; before it, while ``import genxd`` (logging, the import hooks) and the entry point's own imports run
(about the first 50 ms of ``genxd generate``, ``genxd curate``, ``genxd train``), a Ctrl-C printed a traceback of
the import it stopped and exited 1. ``import genxd`` calls :func:`quiet_start` first: when this process is the genxd
command (``python -m genxd``, or the ``genxd`` console script), SIGINT then says that line and exits 130 (nothing is
written yet at that point), until :func:`end_quiet_start`, which ``main`` calls inside its ``try``. A library import
of genxd (any other program) is left alone, as is a SIGINT that someone else handles or ignores.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

__all__ = ["end_quiet_start", "quiet_start", "started_as_command"]

PROGRAM = "genxd"


def started_as_command(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> bool:
    """Whether this process runs the genxd command line: ``python [options] -m genxd ...`` (the interpreter's own
    arguments, ``sys.orig_argv``), or a script named ``genxd`` (the console script pip writes)."""
    argv = sys.argv if argv is None else argv
    orig = list(getattr(sys, "orig_argv", ()) if orig_argv is None else orig_argv)
    i = 1
    while i < len(orig):
        arg = orig[i]
        if arg == "-m":
            return i + 1 < len(orig) and orig[i + 1] == PROGRAM
        if arg == f"-m{PROGRAM}":
            return True
        if arg in ("-c", "-") or not arg.startswith("-"):  # a command, stdin or a script: no -m follows
            break
        i += 2 if arg in ("-X", "-W", "--check-hash-based-pycs") else 1  # an option and its value
    name = os.path.basename(argv[0]) if argv else ""
    return name in (PROGRAM, f"{PROGRAM}.exe", f"{PROGRAM}-script.py")


def _interrupted(signum: int, frame: object) -> NoReturn:
    if sys.stderr is not None:  # None: the caller closed it (2>&-)
        try:
            print(f"{PROGRAM}: interrupted", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
    raise SystemExit(130)


def quiet_start() -> None:
    """Make SIGINT end the starting command quietly (see the module), only for the genxd command and only where
    Python's own handler is in place (a SIGINT ignored, ``nohup`` or ``&`` in a shell without job control, stays
    ignored)."""
    if not started_as_command():
        return
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)


def end_quiet_start() -> None:
    """Python's ``KeyboardInterrupt`` again (``main`` handles it from here, with the command's cleanup)."""
    import signal

    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
