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
    arguments, ``sys.orig_argv``), or a script named ``genxd`` (the console script pip writes). A child that
    multiprocessing spawns (``python -c ... --multiprocessing-fork``, e.g. ``genxd curate --workers N``) is not,
    though it copies the command's ``sys.argv`` and imports its script again."""
    argv = sys.argv if argv is None else argv
    orig = list(getattr(sys, "orig_argv", ()) if orig_argv is None else orig_argv)
    if "--multiprocessing-fork" in orig[1:]:  # a spawned or forkserver child, frozen executables included
        return False
    how, what = _interpreter_runs(orig[1:])
    if how == "-m":
        return what == PROGRAM
    if how == "-c":
        return False
    name = os.path.basename(what if how == "script" else argv[0] if argv else "")
    return name in (PROGRAM, f"{PROGRAM}.exe", f"{PROGRAM}-script.py")


def _interpreter_runs(args: list[str]) -> tuple[str, str]:
    """What the interpreter's arguments (those after the executable) run: ``("-m", module)``, ``("-c", "")`` (a
    command or stdin), ``("script", path)``, or ``("", "")`` where none is named. Short options combine
    (``-Im genxd``, ``-Esmgenxd``); ``-X``/``-W`` take the rest of their cluster or the next argument."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-":
            return "-c", ""
        if not arg.startswith("-"):
            return "script", arg
        if arg.startswith("--"):
            i += arg == "--check-hash-based-pycs"  # its value
            continue
        for j, flag in enumerate(arg[1:], start=2):
            if flag in "cm":
                value = arg[j:] or (args[i] if i < len(args) else "")
                return ("-m", value) if flag == "m" else ("-c", "")
            if flag in "XW":
                i += j == len(arg)  # the value is the next argument
                break
    return "", ""


def _interrupted(signum: int, frame: object) -> NoReturn:
    from ..utils.shared_work import launch_process

    launch = launch_process()  # several processes launched: the first one says it (cli.process_exit.interruption)
    if sys.stderr is not None and (launch is None or launch[0] == 0):  # None: the caller closed it (2>&-)
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
