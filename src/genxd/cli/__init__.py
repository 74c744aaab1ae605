"""The ``genxd`` command line.

Each sub-command lives in its own module ``genxd.cli.<name>`` that defines
``register(app: typer.Typer) -> None``; modules are discovered by :mod:`genxd.cli.root`, so adding a command needs
no edit of it. Shared options come from :mod:`genxd.cli.options` (declared once, checked by
:mod:`genxd.validation` while the command line is parsed). Errors meant for users raise
:class:`genxd.cli.common.UsageError` (or any ValueError), printed as one line ``genxd: error: ...``
with exit code 2; so are option-parsing errors (:class:`genxd.cli.common.GenxdGroup`).

Help is plain text (no rich panels), wrapped at the terminal width on spaces, never after a hyphen inside a
name (:class:`genxd.cli.common.HelpFormatter`).

This module stays light (the app, typer and every command module are imported by :func:`main`), so that Ctrl-C
at any point of the command's start is one line ``genxd: interrupted`` and exit code 130, not a traceback of
the import it stopped.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    """``genxd.cli.app``: the typer app (:mod:`genxd.cli.root`), imported on first use."""
    if name == "app":
        from .root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(prog_name: str | None = None) -> None:
    """Console entry point (``prog_name``: the command's name in its usage lines; None: as it was started)."""
    from .closed_streams import discard_closed_streams, stdout_read_only
    from .early_interrupt import end_quiet_start
    from .process_exit import interrupted_exit, quiet_exit_after_freeze, stop_cleanly_on_sigterm

    from .terminal_text import escape_streams

    discard_closed_streams()  # `genxd ... >&- 2>&-`: exit codes kept, no file opened on descriptor 1 or 2
    if stdout_read_only():  # `genxd info 1<file`: the output cannot be written, as to /dev/full (process_exit)
        print("genxd: error: cannot write the output: standard output is open for reading only", file=sys.stderr)
        sys.exit(2)
    escape_streams()  # a file name's non-UTF-8 bytes as \xNN, whatever the terminal's encoding
    quiet_exit_after_freeze()  # first registered, last run: Triton's leak report after the freeze (process_exit)
    stop_cleanly_on_sigterm()  # SIGTERM cleans up as Ctrl-C does
    try:
        end_quiet_start()  # KeyboardInterrupt from here on, handled below (before: cli.early_interrupt)
        from .root import app

        app(prog_name=prog_name)
    except KeyboardInterrupt as exc:  # while the commands were imported or built (a command's own: run_cli)
        interrupted_exit(exc)
    finally:
        # the objects of torch, diffusers and the command's models, moved out of the collector's reach: the
        # interpreter's exit then skips a cyclic collection over all of them (2.4 -> 0.25 s on a 2-core EPYC)
        gc.freeze()
