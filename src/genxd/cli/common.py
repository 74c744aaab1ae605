"""Helpers shared by the sub-commands: one-line errors with exit code 2, atomic writes."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import typer

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path`` (atomic).

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success rename it onto ``path``.

    ``path`` must not exist (or be replaced by the caller first). On failure the temporary folder is
    removed, so no half-written output folder is ever left under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr)
