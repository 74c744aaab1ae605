"""Helpers shared by the sub-commands: one-line errors with exit code 2, atomic writes."""

from __future__ import annotations

import sys
from typing import Callable, TypeVar

import typer

from ..utils.io import atomic_dir, atomic_file, read_json, write_json_atomic  # noqa: F401

atomic_path = atomic_file  # the name the sub-commands use

T = TypeVar("T")


class UsageError(Exception):
    """A problem with the user's input: printed as one line, exit code 2, no traceback."""


def fail(message: str) -> "typer.Exit":
    """Print ``genxd: error: message`` to stderr and return an Exit(2) to raise."""
    typer.echo(f"genxd: error: {message}", err=True)
    return typer.Exit(code=2)


def run_cli(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn UsageError / ValueError / FileNotFoundError into a one-line error, exit 2."""
    try:
        return fn()
    except (UsageError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo("genxd: interrupted", err=True)
        raise typer.Exit(code=130) from None


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr)
