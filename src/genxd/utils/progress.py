"""genxd's rich progress bars: drawn on stderr, so that stdout carries only a command's result (what it wrote,
its summary) and can be piped."""

from __future__ import annotations

from typing import Any

__all__ = ["stderr_progress"]


def stderr_progress(*columns: Any, disable: bool = False, transient: bool = False, terminal_only: bool = False):
    """A ``rich.progress.Progress`` over ``columns`` (rich's default columns when none) drawn on stderr.

    ``terminal_only``: also off when stderr is not a terminal (where rich draws only the last state, or an
    empty line for a ``transient`` bar)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    return Progress(*columns, console=console, transient=transient,
                    disable=disable or (terminal_only and not console.is_terminal))
